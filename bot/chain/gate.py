"""Who gets answered, kept in Redis so it holds across workers and restarts.

Slack redelivers an event it thinks was missed (a slow ack, a worker restart): each event
id is claimed once with SET NX and a TTL, so no event is answered twice even with several
workers. A per-user sliding window (the last 60 seconds, not the clock's minute) keeps one user from
flooding the bot: a fixed window would let twice the limit through around a minute boundary.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 3600
"""Slack retries within minutes; an hour is ample and keeps the key set small."""
WINDOW_S = 60


class Gate:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._clock = clock
        self._prefix = prefix
        self._per_minute = per_minute

    def first_delivery(self, event_id: str) -> bool:
        """True exactly once per event id, whichever worker asks first. With Redis down it is
        True: a retry answered twice is a lesser harm than a question never answered."""
        try:
            return bool(self._redis.set(self._claim(event_id), 1, nx=True, ex=DEDUPE_TTL_S))
        except redis.RedisError as error:
            log.warning(
                "dedupe unavailable, answering event %s without a claim: %s", event_id, error
            )
            return True

    def release(self, event_id: str) -> None:
        """Give up the claim on an event whose reply could not be posted, so Slack's retry may
        try again (the claim is only ever released by the worker that failed to reply)."""
        try:
            self._redis.delete(self._claim(event_id))
        except redis.RedisError as error:
            log.warning("could not release event %s: %s", event_id, error)

    def _claim(self, event_id: str) -> str:
        return f"{self._prefix}event:{event_id}"

    def allow(self, user: str) -> bool:
        """Count one question for `user`; False once they asked more than the limit in the
        last 60 seconds. A refused question is not counted, so waiting always helps."""
        return self.wait_s(user) == 0

    def wait_s(self, who: str, limit: int | None = None) -> float:
        """Count one request for `who` against `limit` a minute (default: the gate's); 0 when it
        may go ahead, else the seconds until the window has room (it is then not counted)."""
        limit = self._per_minute if limit is None else limit
        if limit <= 0:
            return 0.0
        key, now = f"{self._prefix}rate:{who}", self._clock()
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        pipe = self._redis.pipeline()  # MULTI/EXEC: workers asking at once see each other's entries
        pipe.zremrangebyscore(key, 0, now - WINDOW_S)
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.expire(key, WINDOW_S)
        try:
            if pipe.execute()[2] > limit:
                self._redis.zrem(key, member)
                # Room opens when the entry `limit` places from the newest leaves the window.
                oldest = self._redis.zrange(key, -limit, -limit, withscores=True)
                return max(0.001, (oldest[0][1] if oldest else now) + WINDOW_S - now)
        except redis.RedisError as error:  # no limit is better than no answer
            log.warning("rate limit unavailable, letting %s ask: %s", who, error)
        return 0.0
