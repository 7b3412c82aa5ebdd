"""Every answer, and the feedback on it, in Redis: what a 👍/👎 click rates, and what `bot
report` and `bot eval export-feedback` read.

Keys (all under the deployment's prefix, all expiring after TURN_TTL_S):
- `turn:{id}`: the answer's record (JSON; who asked is not in it).
- `turns:{YYYY-MM-DD}`: the ids of the day's answers, oldest first, trimmed to TURNS_PER_DAY.
- `feedback:{id}`: one field per user who rated the answer (a hash of their id, so a second
  click replaces the first), the value JSON `{rating, reason, comment, at}`.
- `rated:{YYYY-MM-DD}`: the rated answers of that day (the day they were answered), so a
  report reads the feedback of rated answers only.
- `feedback:log`: every click and every reason, as they came (trimmed to FEEDBACK_LOG_LENGTH).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal

import redis

from bot.chain.answer import Answer, flat_json

Rating = Literal["up", "down"]
REASONS = {"wrong": "Wrong", "outdated": "Outdated", "incomplete": "Incomplete", "other": "Other"}
"""What a 👎 may say was wrong with an answer (value: its label in Slack)."""
TURN_TTL_S = 30 * 24 * 3600
TURNS_PER_DAY = 10_000
"""A day's index keeps its latest answers; with ~1.5 kB a record, 30 days stay under ~450 MB."""
FEEDBACK_LOG_LENGTH = 10_000
MGET_BATCH = 500
WITHHELD = (
    "(withheld: it cites a restricted source; `bot ask --user U --channel C` asks as its audience)"
)
"""What admins' tools print instead of text drawn from a restricted source."""


def day_of(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


@dataclass(frozen=True)
class TurnRecord:
    """One answer as the report sees it: what was asked where, how it was answered, at what cost."""

    id: str
    question: str
    """As the chain saw it: personal data already redacted."""
    answer: str
    mode: str
    searched: str = ""
    """A follow-up as it was searched (rewritten, or with the previous question); else ""."""
    refused: bool = False
    reason: str | None = None
    tier: str = ""
    """What answered: faq, cache, extractive or a cascade tier."""
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cache: str = ""
    """exact or semantic for an answer served from the cache."""
    guard_failures: int = 0
    """Model drafts the output guards rejected on the way to this answer."""
    sources: list[dict] = field(default_factory=list)
    """`[{id, doc_id, title}]` as numbered in the answer (the closest ones for a refusal)."""
    variant: str = ""
    """The prompt variant the thread was given (PROMPT_VARIANTS)."""
    prompt_version: str = ""
    """That prompt's version id (name@hash)."""
    channel: str = ""
    """The Slack channel, "" outside Slack."""
    thread: str = ""
    cache_key: str = ""
    at: float = 0.0
    restricted: bool = False
    """It cites (or, refused, lists) a source not everyone may read: admins' tools show its
    sources' ids and titles, not its text."""

    @property
    def shown_answer(self) -> str:
        """The answer as an admin's report or export prints it."""
        return WITHHELD if self.restricted else self.answer

    @classmethod
    def of(cls, answer: Answer, question: str, channel: str = "", thread: str = "") -> TurnRecord:
        usage = answer.usage
        return cls(
            id=answer.turn_id,
            question=question,
            answer=answer.text,
            mode=answer.mode,
            searched=answer.searched,
            refused=answer.refused,
            reason=answer.reason,
            tier=usage.tier if usage else answer.mode,
            cost_usd=usage.cost_usd if usage else 0.0,
            latency_ms=round(answer.latency_ms, 1),
            cache=cache_kind(answer.notes) if answer.mode == "cache" else "",
            guard_failures=answer.guard_failures,
            sources=[
                {"id": p.id, "doc_id": p.chunk.doc_id, "title": p.chunk.title}
                for p in answer.sources
            ],
            variant=answer.variant,
            prompt_version=answer.prompt_version,
            channel=channel,
            thread=thread,
            cache_key=answer.cache_key,
            at=time.time(),
            restricted=answer.restricted,
        )

    @classmethod
    def from_json(cls, raw: str) -> TurnRecord:
        data = json.loads(raw)
        # A record from before the mark existed may cite anything: withheld until it expires (fail closed).
        data.setdefault("restricted", True)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def cache_kind(notes: list[str]) -> str:
    """The cache says how it hit in its first note ("cache: semantic hit (0.91)")."""
    match = re.match(r"cache: (\w+) hit", notes[0]) if notes else None
    return match.group(1) if match else ""


@dataclass(frozen=True)
class Feedback:
    rating: Rating
    reason: str = ""
    """One of REASONS after a 👎, when the user said."""
    comment: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class RatedTurn:
    turn: TurnRecord
    feedback: list[Feedback]


class TurnLog:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def record(self, turn: TurnRecord, pipe: redis.client.Pipeline | None = None) -> None:
        """`pipe`: queue the commands on the caller's pipeline, which sends them, instead of now."""
        index = f"{self._prefix}turns:{day_of(turn.at)}"
        own, pipe = (
            pipe is None,
            pipe if pipe is not None else self._redis.pipeline(transaction=False),
        )
        pipe.set(f"{self._prefix}turn:{turn.id}", flat_json(turn), ex=TURN_TTL_S)
        pipe.rpush(index, turn.id)
        pipe.ltrim(index, -TURNS_PER_DAY, -1)
        pipe.expire(index, TURN_TTL_S)
        if own:
            pipe.execute()

    def get(self, turn_id: str) -> TurnRecord | None:
        raw = self._redis.get(f"{self._prefix}turn:{turn_id}")
        return TurnRecord.from_json(raw) if raw else None

    def rate(self, turn_id: str, user: str, rating: Rating) -> TurnRecord | None:
        """Store `user`'s rating of the turn (a second click replaces the first; a 👎 again keeps
        the reason given); the turn, if still kept."""
        turn = self.get(turn_id)
        previous = self._feedback_of(turn_id, user)
        kept = previous if previous and previous.rating == rating else Feedback(rating)
        self._store(turn_id, turn, user, Feedback(rating, kept.reason, kept.comment, time.time()))
        return turn

    def explain(self, turn_id: str, user: str, reason: str, comment: str = "") -> None:
        """Store why `user` rated the turn 👎, next to the rating."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}; one of {', '.join(REASONS)}")
        self._store(
            turn_id, self.get(turn_id), user, Feedback("down", reason, comment, time.time())
        )

    def feedback(self, turn_id: str) -> list[Feedback]:
        return [
            Feedback(**json.loads(raw))
            for raw in self._redis.hgetall(f"{self._prefix}feedback:{turn_id}").values()
        ]

    def _feedback_of(self, turn_id: str, user: str) -> Feedback | None:
        raw = self._redis.hget(f"{self._prefix}feedback:{turn_id}", _user_key(user))
        return Feedback(**json.loads(raw)) if raw else None

    def _store(self, turn_id: str, turn: TurnRecord | None, user: str, feedback: Feedback) -> None:
        key = f"{self._prefix}feedback:{turn_id}"
        rated = f"{self._prefix}rated:{day_of(turn.at if turn else feedback.at)}"
        entry = {
            "turn": turn_id,
            **asdict(feedback),
            "mode": turn and turn.mode,
            "variant": turn and turn.variant,
            "prompt_version": turn and turn.prompt_version,
        }
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(key, _user_key(user), json.dumps(asdict(feedback), ensure_ascii=False))
        pipe.expire(key, TURN_TTL_S)
        pipe.sadd(rated, turn_id)
        pipe.expire(rated, TURN_TTL_S)
        pipe.rpush(f"{self._prefix}feedback:log", json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(f"{self._prefix}feedback:log", -FEEDBACK_LOG_LENGTH, -1)
        pipe.execute()

    def turns(self, days: list[str]) -> Iterator[TurnRecord]:
        """The answers of these days still kept, oldest first."""
        for day in days:
            ids = self._redis.lrange(f"{self._prefix}turns:{day}", 0, -1)
            for start in range(0, len(ids), MGET_BATCH):
                keys = [
                    f"{self._prefix}turn:{turn_id}" for turn_id in ids[start : start + MGET_BATCH]
                ]
                yield from (TurnRecord.from_json(raw) for raw in self._redis.mget(keys) if raw)

    def rated(self, days: list[str]) -> dict[str, list[Feedback]]:
        """Turn id to its feedback, for the turns of these days that were rated."""
        ids = [
            turn_id
            for day in days
            for turn_id in self._redis.smembers(f"{self._prefix}rated:{day}")
        ]
        pipe = self._redis.pipeline(transaction=False)
        for turn_id in ids:
            pipe.hgetall(f"{self._prefix}feedback:{turn_id}")
        return {
            turn_id: [Feedback(**json.loads(raw)) for raw in values.values()]
            for turn_id, values in zip(ids, pipe.execute(), strict=True)
            if values
        }

    def rated_turns(self, days: list[str]) -> list[RatedTurn]:
        """The rated turns of these days still kept, oldest first, with their feedback."""
        feedback = self.rated(days)
        ids = list(feedback)
        turns = [
            TurnRecord.from_json(raw)
            for start in range(0, len(ids), MGET_BATCH)
            for raw in self._redis.mget(
                [f"{self._prefix}turn:{i}" for i in ids[start : start + MGET_BATCH]]
            )
            if raw
        ]
        return [RatedTurn(turn, feedback[turn.id]) for turn in sorted(turns, key=lambda t: t.at)]


def _user_key(user: str) -> str:
    """Who rated is needed only to let a second click replace the first: a hash does that."""
    return hashlib.sha256(user.encode()).hexdigest()[:16]


def last_days(count: int, now: float | None = None) -> list[str]:
    """The `count` UTC days up to and including today's, oldest first."""
    now = time.time() if now is None else now
    return [day_of(now - back * 86400) for back in range(count - 1, -1, -1)]
