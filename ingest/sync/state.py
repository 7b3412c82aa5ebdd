"""Each source's state (the connector's cursors and validators), its status (what the last run
did, when the next is due, the error in words) and the lock that lets one run at a time across
workers: all in Redis, so `ingest status`, `/kb status` and /metrics read the same."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

LOCK_TIMEOUT_S = 3600
"""A run holding the lock longer than this is taken to have died (the lock expires)."""


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
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}sync:"

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
        return self.client.lock(f"{self.prefix}lock", timeout=LOCK_TIMEOUT_S, blocking=False)

    def close(self) -> None:
        self.client.close()


def now() -> float:
    return time.time()
