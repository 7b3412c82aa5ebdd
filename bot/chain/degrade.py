"""Answering without Redis: memory, the answer cache, usage totals and turn records are kept
there, and none of them is needed to answer a question.

When a Redis call fails, that part is skipped for this turn: the log says why, and the
answer's notes say what the user goes without. redis-py reconnects on the next call, so
everything resumes by itself once Redis is back; nothing needs a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import redis

log = logging.getLogger(__name__)

T = TypeVar("T")

WITHOUT = {
    "memory": "thread memory unavailable (Redis): earlier turns of this thread were not used",
    "cache": "answer cache unavailable (Redis): answered afresh",
    "usage": "usage totals unavailable (Redis): this answer's cost is not in today's totals or budget",
    "record": "turn record unavailable (Redis): feedback on this answer cannot be stored",
    "usergroups": "user groups unavailable (Redis): documents for user groups were not searched",
    "verified": "verified answers unavailable (Redis): answered without them",
    "scope": "channel scopes unavailable (Redis): the CHANNEL_SCOPES file's scope was used",
}

_skipped: ContextVar[list[str] | None] = ContextVar("skipped", default=None)
"""What the current turn went without; a ContextVar, so concurrent turns (threads) keep apart."""


def start_turn() -> None:
    _skipped.set([])


def skipped() -> list[str]:
    """The notes for what this turn went without, in the order it happened, each once."""
    return list(dict.fromkeys(_skipped.get() or []))


def without_redis(part: str | tuple[str, ...], call: Callable[[], T], fallback: T) -> T:
    """`call()`, or `fallback` when Redis fails; `part` is a key of WITHOUT, or several for one
    round trip that serves them all."""
    try:
        return call()
    except redis.RedisError as error:
        notes = _skipped.get()
        for name in (part,) if isinstance(part, str) else part:
            log.warning("%s: %s", WITHOUT[name], error)
            if notes is not None:
                notes.append(WITHOUT[name])
        return fallback


class Reads:
    """Independent Redis reads sent in one round trip. Each part queues one command and says how
    to read its reply and what to use without Redis; `send` sends them all. Each part then goes
    without on its own, as `without_redis` would have it alone: the round trip failing gives every
    part its fallback and its note, one command's error only its own part."""

    def __init__(self, client: redis.Redis) -> None:
        self._pipe = client.pipeline(transaction=False)
        self._parts: list[str] = []
        self._replies: list[Any] | None = None

    def add(
        self,
        part: str,
        queue: Callable[[redis.client.Pipeline], object],
        read: Callable[[Any], T],
        fallback: T,
    ) -> Callable[[], T]:
        """`queue(pipe)` queues the part's one command; the call returned gives `read(reply)` once sent."""
        index = len(self._parts)
        self._parts.append(part)
        queue(self._pipe)
        return lambda: (
            fallback
            if self._replies is None
            else without_redis(part, lambda: read(raised(self._replies[index])), fallback)
        )

    def send(self) -> None:
        # raise_on_error=False: a command's error comes back as its reply, for its own part to raise.
        self._replies = without_redis(
            tuple(self._parts), lambda: self._pipe.execute(raise_on_error=False), None
        )


def raised(reply: Any) -> Any:
    if isinstance(reply, Exception):
        raise reply
    return reply
