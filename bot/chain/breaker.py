"""A circuit breaker per model tier, shared by every worker through Redis.

A dead endpoint otherwise adds its whole timeout (and its retries) to every question before
the next tier is asked. After `failures` failed calls in a row the circuit opens: the tier is
skipped for `cooldown_s`. Then it is half-open: one worker (whichever claims the probe first)
asks it again; success closes the circuit, failure opens it for another cooldown.

Shared, so one worker's discovery spares the others, and so `bot tiers` can show it from
another process. Without Redis each call is simply allowed: the breaker is an optimisation,
never a reason not to answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

STATE_TTL_S = 86400
"""A circuit nobody touched for a day is forgotten (closed)."""


@dataclass(frozen=True)
class CircuitState:
    state: str
    """closed, open or half-open"""
    failures: int
    retry_in_s: float = 0.0

    def describe(self) -> str:
        if self.state == "open":
            return f"circuit open after {self.failures} failures in a row; next probe in {self.retry_in_s:.0f}s"
        if self.state == "half-open":
            return "circuit half-open: the next call probes the endpoint"
        return (
            f"circuit closed ({self.failures} recent failures)"
            if self.failures
            else "circuit closed"
        )


class CircuitBreaker:
    def __init__(
        self,
        client: redis.Redis | None,
        prefix: str,
        tier: str,
        failures: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._key = f"{prefix}circuit:{tier}"
        self._probe = f"{self._key}:probe"
        self._failures = failures
        self._cooldown_s = cooldown_s
        self._clock = clock

    def allow(self) -> bool:
        """May the tier be asked now? Open: no. Half-open: yes, for exactly one caller."""
        if self._redis is None or self._failures <= 0:
            return True
        try:
            state = self.state()
            if state.state != "half-open":
                return state.state == "closed"
            return bool(self._redis.set(self._probe, 1, nx=True, ex=max(1, int(self._cooldown_s))))
        except redis.RedisError as error:
            log.warning("circuit %s unavailable, asking the tier: %s", self._key, error)
            return True

    def succeeded(self) -> None:
        self._safely(lambda: self._redis.delete(self._key, self._probe))

    def failed(self) -> None:
        def record() -> None:
            pipe = self._redis.pipeline()
            pipe.hincrby(self._key, "failures", 1)
            pipe.hget(self._key, "opened_at")
            pipe.expire(self._key, STATE_TTL_S)
            failures, opened_at, _ = pipe.execute()
            # A failed probe (opened before) re-opens at once; a closed circuit opens at the threshold.
            if opened_at is not None or failures >= self._failures:
                self._redis.hset(self._key, "opened_at", self._clock())
                self._redis.delete(self._probe)
                log.warning("circuit %s open after %d failures in a row", self._key, failures)

        self._safely(record)

    def state(self) -> CircuitState:
        if self._redis is None:
            return CircuitState("closed", 0)
        raw = self._redis.hgetall(self._key)
        failures = int(raw.get("failures", 0))
        if "opened_at" not in raw:
            return CircuitState("closed", failures)
        retry_in = float(raw["opened_at"]) + self._cooldown_s - self._clock()
        return (
            CircuitState("open", failures, retry_in)
            if retry_in > 0
            else CircuitState("half-open", failures)
        )

    def _safely(self, call: Callable[[], object]) -> None:
        if self._redis is None or self._failures <= 0:
            return
        try:
            call()
        except redis.RedisError as error:
            log.warning("circuit %s not updated: %s", self._key, error)
