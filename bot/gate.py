"""Who gets answered, kept in Redis so it holds across workers and restarts.

Slack redelivers an event it thinks was missed (a slow ack, a worker restart): each event
id is claimed once with SET NX and a TTL, so no event is answered twice even with several
workers. A per-user counter per minute keeps one user from flooding the bot.
"""

from __future__ import annotations

import time

import redis

DEDUPE_TTL_S = 3600
"""Slack retries within minutes; an hour is ample and keeps the key set small."""


class Gate:
    def __init__(self, client: redis.Redis, prefix: str, per_minute: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._per_minute = per_minute

    def first_delivery(self, event_id: str) -> bool:
        """True exactly once per event id, whichever worker asks first."""
        return bool(self._redis.set(f"{self._prefix}event:{event_id}", 1, nx=True, ex=DEDUPE_TTL_S))

    def allow(self, user: str) -> bool:
        """Count one question for `user`; False once they exceed the per-minute limit."""
        if self._per_minute <= 0:
            return True
        key = f"{self._prefix}rate:{user}:{int(time.time() // 60)}"
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        return count <= self._per_minute
