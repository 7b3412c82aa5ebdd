"""Each source's state (the connector's cursors and validators), its status (what the last run
did, when the next is due, the error in words) and the lock that lets one run at a time across
workers: all in Redis, so `ingest status`, `/kb status` and /metrics read the same."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from redis.exceptions import LockError

log = logging.getLogger(__name__)

LOCK_TTL_S = 60.0
"""The sync lock's lifetime in Redis. A run renews it every third of that while it works, so a
run may take as long as it needs (a 5,000-page first crawl does), while a worker that dies
mid-run (killed, its machine gone) keeps the others waiting at most this long."""


@dataclass
class Status:
    """What `ingest status` shows for one source."""

    last_run: float = 0.0
    """When the last run ended (epoch seconds); 0 before the first."""
    result: str = "never run"
    """ok | partial (some items failed, the rest was written) | failed | needs --force | dry run"""
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    error: str = ""
    next_run: float = 0.0
    failures: int = 0
    """Failed runs in a row; the schedule backs off by this."""
    last_full: float = 0.0
    full: bool = False
    requests: int = 0
    seconds: float = 0.0

    @classmethod
    def from_json(cls, raw: str | None) -> Status:
        data = json.loads(raw) if raw else {}
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class SyncState:
    def __init__(self, client: redis.Redis, prefix: str, lock_ttl: float = LOCK_TTL_S) -> None:
        self.client = client
        self.prefix = f"{prefix}sync:"
        self.lock_ttl = lock_ttl

    @classmethod
    def connect(cls, url: str, prefix: str) -> SyncState:
        return cls(
            redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5),
            prefix,
        )

    def state(self, name: str) -> dict[str, Any]:
        raw = self.client.get(f"{self.prefix}state:{name}")
        return json.loads(raw) if raw else {}

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        self.client.set(f"{self.prefix}state:{name}", json.dumps(state))

    def status(self, name: str) -> Status:
        return Status.from_json(self.client.get(f"{self.prefix}status:{name}"))

    def save_status(self, name: str, status: Status) -> None:
        self.client.set(f"{self.prefix}status:{name}", json.dumps(asdict(status)))

    def lock(self) -> redis.lock.Lock:
        """One sync at a time across every worker: they write the same collection."""
        # Not thread-local: the renewal runs in a thread of its own and must see the token.
        return self.client.lock(
            f"{self.prefix}lock", timeout=self.lock_ttl, blocking=False, thread_local=False
        )

    @contextmanager
    def held_lock(self) -> Iterator[bool]:
        """The lock, renewed while the block runs; yields False (and runs nothing under it) when
        another worker holds it."""
        lock = self.lock()
        if not lock.acquire():
            yield False
            return
        done = threading.Event()
        renewal = threading.Thread(
            target=_renew, args=(lock, done, self.lock_ttl / 3), daemon=True, name="sync-lock"
        )
        renewal.start()
        try:
            yield True
        finally:
            done.set()
            renewal.join()
            # Expired while Redis was away, or Redis away now: the sync is done either way, and
            # the lock's TTL frees it within a minute.
            with suppress(LockError, redis.RedisError):
                lock.release()

    def close(self) -> None:
        self.client.close()


def _renew(lock: redis.lock.Lock, done: threading.Event, every: float) -> None:
    while not done.wait(every):
        try:
            lock.reacquire()  # back to the full TTL
        except LockError:
            log.error(
                "the sync lock expired while this run worked (Redis away longer than %.0fs); "
                "another worker may sync at the same time",
                lock.timeout,
            )
            return
        except redis.RedisError as error:  # Redis away for a moment: the next renewal may reach it
            log.warning("could not renew the sync lock: %s", error)


def now() -> float:
    return time.time()
