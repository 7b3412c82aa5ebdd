"""Verified answers: a question (and its paraphrases) with an answer an owner vouches for,
served word for word before retrieval (`mode: verified`), as MongoDB's chatbot and Onyx's
standard answers do.

Stored in Redis, one hash of JSON entries, so that an edit or a retirement reaches every
worker at once; each process mirrors the approved entries' question vectors in a NumPy
matrix and re-reads the hash only when its version counter moved (one GET a question).

Access: an entry has an audience, like a document (knowledge/access.py); it is matched only
for an asker who may read it, exact and semantic matches alike. The agent serves it with that
audience as the turn's `inherited` audiences, so thread memory shows it to no one else and the
answer cache never stores it (it is served before the cache and never put there).

Freshness: past its review-by date an entry is not served; the first question it would have
answered records it as overdue, for its owner to be told (the digest, `bot report`).
A draft (from the review queue) is never served until approved.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Literal

import numpy as np
import redis

from bot.chain.answer_cache import normalised
from bot.chain.i18n import DEFAULT, language_of, text
from knowledge.access import EVERYONE, Access, audiences

Status = Literal["approved", "draft", "retired"]


class VerifiedError(ValueError):
    """A verified answer that cannot be stored as given; the message says what to fix."""


@dataclass(frozen=True)
class Verified:
    question: str
    answer: str
    """Served word for word."""
    owner: str
    """Who vouches for it: a Slack user id (U…) or a name."""
    audience: tuple[str, ...] = (EVERYONE,)
    paraphrases: tuple[str, ...] = ()
    """Other wordings of the question, matched like it."""
    verified_on: str = ""
    """ISO date it was (last) approved."""
    review_by: str = ""
    """ISO date after which it is not served until re-approved; "" never."""
    status: Status = "approved"
    source: str = ""
    """Where it came from: a thread's permalink, a CSV file."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created_at: float = field(default_factory=time.time)
    approved_at: float = 0.0
    escalated_at: float = 0.0
    """When the question it answers was escalated to an expert (0: it was not)."""

    def checked(self) -> Verified:
        """This entry with its audience checked and dates normalised; VerifiedError says what to fix."""
        if not self.question.strip() or not self.answer.strip():
            raise VerifiedError("a verified answer needs a question and an answer")
        if not self.owner.strip():
            raise VerifiedError(
                "a verified answer needs an owner (a Slack user id like U0123ABC, or a name)"
            )
        try:
            audience = audiences(self.audience) or (EVERYONE,)
        except ValueError as error:
            raise VerifiedError(str(error)) from None
        return replace(
            self,
            audience=audience,
            verified_on=iso_date(self.verified_on, "verified_on"),
            review_by=iso_date(self.review_by, "review_by"),
            paraphrases=tuple(p.strip() for p in self.paraphrases if p.strip()),
        )

    def overdue(self, today: str) -> bool:
        return bool(self.review_by) and self.review_by < today

    def wordings(self) -> tuple[str, ...]:
        return (self.question, *self.paraphrases)

    def attribution(self, language: str = DEFAULT) -> str:
        """Who vouches for the answer and since when, in the asker's language."""
        owner = (
            f"<@{self.owner}>"
            if self.owner[:1] in "UW" and self.owner.isalnum()
            else f"@{self.owner}"
        )
        return text(language, "answer.verified_by", owner=owner, date=self.verified_on)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Verified:
        data = json.loads(raw)
        return cls(
            **{
                **data,
                "audience": tuple(data["audience"]),
                "paraphrases": tuple(data["paraphrases"]),
            }
        )


Wordings = tuple[np.ndarray, list[Verified]]
"""One language's wordings matched by meaning: their vectors, row by row, and their entries."""


@dataclass(frozen=True)
class Match:
    entry: Verified
    kind: str
    """"exact" or "semantic"."""
    similarity: float


def iso_date(value: str, name: str) -> str:
    if not value:
        return ""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise VerifiedError(f"{name} {value!r} is not a date; write YYYY-MM-DD") from None


def today() -> str:
    return date.today().isoformat()


class VerifiedAnswers:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        embed_query: Callable[[str], Sequence[float]] | None,
        threshold: float,
        clock: Callable[[], str] = today,
        other_languages: Mapping[str, float] | None = None,
    ) -> None:
        """`embed_query` None: for managing entries only (`match` needs it). `threshold` is for
        English questions, `other_languages` maps other languages to theirs: a question is
        matched by meaning only with wordings in its own language, and only where its language
        has a threshold (else by its exact wording). `clock`: today's ISO date (tests play a
        week with their own)."""
        self._redis = client
        self._key = f"{prefix}verified:entries"
        self._version_key = f"{prefix}verified:version"
        self._overdue_key = f"{prefix}verified:overdue"
        self._embed = embed_query
        self.thresholds = {"en": threshold, **(other_languages or {})}
        self.clock = clock
        self._lock = threading.Lock()
        self._mirror: tuple[bytes | None, dict[str, list[Verified]], dict[str, Wordings]] | None = (
            None
        )

    # -- management ---------------------------------------------------------------------------
    def save(self, entry: Verified) -> Verified:
        """Add or replace an entry (by id); an approved one without a date is verified today."""
        entry = entry.checked()
        if entry.status == "approved" and not entry.verified_on:
            entry = replace(
                entry,
                verified_on=self.clock(),
                approved_at=entry.approved_at or time.time(),
            )
        pipe = self._redis.pipeline()
        pipe.hset(self._key, entry.id, json.dumps(asdict(entry), ensure_ascii=False))
        pipe.hdel(self._overdue_key, entry.id)
        pipe.incr(self._version_key)
        pipe.execute()
        return entry

    def get(self, entry_id: str) -> Verified | None:
        raw = self._redis.hget(self._key, entry_id)
        return Verified.from_json(raw) if raw else None

    def all(self, statuses: Iterable[Status] = ("approved", "draft")) -> list[Verified]:
        wanted = set(statuses)
        entries = [Verified.from_json(raw) for raw in self._redis.hgetall(self._key).values()]
        return sorted((e for e in entries if e.status in wanted), key=lambda e: e.created_at)

    def approve(self, entry_id: str, **changes) -> Verified:
        entry = self._existing(entry_id)
        return self.save(
            replace(
                entry,
                **changes,
                status="approved",
                verified_on=self.clock(),
                approved_at=time.time(),
            )
        )

    def retire(self, entry_id: str) -> Verified:
        return self.save(replace(self._existing(entry_id), status="retired"))

    def _existing(self, entry_id: str) -> Verified:
        entry = self.get(entry_id)
        if entry is None:
            raise VerifiedError(
                f"no verified answer {entry_id!r}; `bot verified list` shows their ids"
            )
        return entry

    def overdue(self) -> list[Verified]:
        """Approved entries past their review-by date, whether or not a question hit them yet."""
        now = self.clock()
        return [e for e in self.all(("approved",)) if e.overdue(now)]

    def asked_overdue(self) -> dict[str, float]:
        """Entry id -> when a question first matched it past its review-by date (owner to be told)."""
        return {
            k.decode() if isinstance(k, bytes) else k: float(v)
            for k, v in self._redis.hgetall(self._overdue_key).items()
        }

    def told(self, entry_id: str) -> None:
        self._redis.hdel(self._overdue_key, entry_id)

    # -- serving ------------------------------------------------------------------------------
    def match(self, question: str, access: Access) -> Match | None:
        """The approved, current entry `access` may read whose question or paraphrase is
        `question` (normalised) or, for a question the model reads, within the threshold."""
        exact, by_language = self._current()
        now = self.clock()
        candidates = [(e, "exact", 1.0) for e in exact.get(normalised(question), [])]
        language = language_of(question)
        vectors, rows = by_language.get(language, (None, []))
        if not candidates and rows:
            scores = vectors @ np.asarray(self._embed(question), dtype=np.float32)
            order = np.argsort(-scores)[:8]
            candidates = [
                (rows[i], "semantic", float(scores[i]))
                for i in order
                if scores[i] >= self.thresholds[language]
            ]
        for entry, kind, similarity in candidates:
            if not access.may_read(entry.audience):
                continue
            if entry.overdue(now):
                self._redis.hsetnx(self._overdue_key, entry.id, time.time())
                continue
            return Match(entry, kind, similarity)
        return None

    def _current(self) -> tuple[dict[str, list[Verified]], dict[str, Wordings]]:
        """Entries by normalised wording, and per language with a threshold the wordings matched
        by meaning: their vectors and entries."""
        version = self._redis.get(self._version_key)
        with self._lock:
            if self._mirror is not None and self._mirror[0] == version:
                return self._mirror[1], self._mirror[2]
            exact: dict[str, list[Verified]] = {}
            wordings: dict[str, tuple[list[str], list[Verified]]] = {}
            for entry in self.all(("approved",)):
                for wording in entry.wordings():
                    exact.setdefault(normalised(wording), []).append(entry)
                    language = language_of(wording)
                    if language in self.thresholds:
                        texts, rows = wordings.setdefault(language, ([], []))
                        texts.append(wording)
                        rows.append(entry)
            by_language = {
                language: (np.asarray([self._embed(t) for t in texts], dtype=np.float32), rows)
                for language, (texts, rows) in wordings.items()
            }
            self._mirror = (version, exact, by_language)
            return exact, by_language
