"""Answered turns and the feedback on them, in Redis.

Each answer gets a turn id; the turn (question, answer, mode, sources, the prompt variant and
its version) is kept for TURN_TTL_S so a 👍/👎 click can be stored next to what it rates, and
feedback analytics can read both later.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Literal

import redis

from bot.models import Turn

Rating = Literal["up", "down"]
TURN_TTL_S = 30 * 24 * 3600
FEEDBACK_LOG_LENGTH = 10_000


class TurnLog:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def record(self, thread_id: str, turn: Turn) -> None:
        record = {**asdict(turn), "thread": thread_id, "at": time.time()}
        self._redis.set(f"{self._prefix}turn:{turn.id}", json.dumps(record, ensure_ascii=False), ex=TURN_TTL_S)

    def get(self, turn_id: str) -> dict | None:
        raw = self._redis.get(f"{self._prefix}turn:{turn_id}")
        return json.loads(raw) if raw else None

    def rate(self, turn_id: str, user: str, rating: Rating) -> dict | None:
        """Store `user`'s rating of the turn (a second click replaces the first); the turn, if still kept."""
        turn = self.get(turn_id)
        key = f"{self._prefix}feedback:{turn_id}"
        entry = {"turn": turn_id, "user": user, "rating": rating, "at": time.time(),
                 "question": turn and turn["question"], "mode": turn and turn["mode"],
                 "variant": turn and turn.get("variant", ""), "prompt_version": turn and turn.get("prompt_version", "")}
        pipe = self._redis.pipeline()
        pipe.hset(key, user, rating)
        pipe.expire(key, TURN_TTL_S)
        pipe.rpush(f"{self._prefix}feedback:log", json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(f"{self._prefix}feedback:log", -FEEDBACK_LOG_LENGTH, -1)
        pipe.execute()
        return turn

    def ratings(self, turn_id: str) -> dict[str, str]:
        return self._redis.hgetall(f"{self._prefix}feedback:{turn_id}")
