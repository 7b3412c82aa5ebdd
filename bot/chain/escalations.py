"""Experts in the loop: "Ask an expert" records a question in the review queue; an expert's reply
in that thread (or a 📚 on a reply, or "Save as answer") turns question and reply into a draft
verified answer (bot/chain/verified.py) an admin approves, edits or rejects.

Kept in Redis: escalations one hash (id -> JSON) with an index by thread; the experts of each
channel one hash (channel -> who to mention), with the workspace's default in EXPERTS.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import redis

from bot.chain.verified import Verified, VerifiedAnswers
from knowledge.access import EVERYONE

State = Literal["open", "drafted", "approved", "rejected"]


@dataclass(frozen=True)
class Escalation:
    question: str
    """As the chain saw it (personal data redacted)."""
    channel: str
    thread_ts: str
    asked_by: str
    turn_id: str = ""
    state: State = "open"
    draft_id: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    at: float = field(default_factory=time.time)

    @property
    def audience(self) -> tuple[str, ...]:
        """The channel's: a verified answer from a channel is for that channel until an admin widens it;
        from a DM, for the one who asked."""
        if self.channel.startswith("D"):
            return (f"user:{self.asked_by}",) if self.asked_by else (EVERYONE,)
        return (f"channel:{self.channel}",) if self.channel else (EVERYONE,)


class Escalations:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        verified: VerifiedAnswers,
        default_experts: str = "",
    ) -> None:
        """`default_experts`: who is mentioned in a channel that named none (EXPERTS)."""
        self._redis = client
        self._key = f"{prefix}escalations"
        self._threads = f"{prefix}escalations:threads"
        self._experts = f"{prefix}experts"
        self.verified = verified
        self.default_experts = default_experts

    def experts_of(self, channel: str) -> str:
        found = self._redis.hget(self._experts, channel)
        return (found.decode() if isinstance(found, bytes) else found) or self.default_experts

    def set_experts(self, channel: str, mentions: str) -> None:
        self._redis.hset(self._experts, channel, mentions)

    def open(
        self,
        question: str,
        channel: str,
        thread_ts: str,
        asked_by: str,
        turn_id: str = "",
    ) -> Escalation:
        """Record a question for the experts (once per thread: pressing again returns the same)."""
        existing = self.for_thread(channel, thread_ts)
        if existing is not None and existing.state == "open":
            return existing
        escalation = Escalation(question, channel, thread_ts, asked_by, turn_id)
        self._save(escalation)
        return escalation

    def for_thread(self, channel: str, thread_ts: str) -> Escalation | None:
        found = self._redis.hget(self._threads, f"{channel}:{thread_ts}")
        return self.get(found.decode() if isinstance(found, bytes) else found) if found else None

    def get(self, escalation_id: str) -> Escalation | None:
        raw = self._redis.hget(self._key, escalation_id)
        return Escalation(**json.loads(raw)) if raw else None

    def all(self) -> list[Escalation]:
        return sorted(
            (Escalation(**json.loads(raw)) for raw in self._redis.hgetall(self._key).values()),
            key=lambda e: e.at,
        )

    def capture(
        self, escalation: Escalation, answer: str, by: str, permalink: str = ""
    ) -> Verified:
        """The question and a reply as a draft verified answer, owned by who replied."""
        draft = self.verified.save(
            Verified(
                escalation.question,
                answer.strip(),
                by,
                escalation.audience,
                status="draft",
                source=permalink or f"{escalation.channel}:{escalation.thread_ts}",
                escalated_at=escalation.at,
            )
        )
        self._save(replace(escalation, state="drafted", draft_id=draft.id))
        return draft

    def settle(self, draft: Verified) -> None:
        """A draft was approved or rejected: its escalation is done."""
        for escalation in self.all():
            if escalation.draft_id == draft.id:
                self._save(
                    replace(
                        escalation,
                        state="approved" if draft.status == "approved" else "rejected",
                    )
                )

    def waiting(self) -> tuple[list[Escalation], list[Verified]]:
        """The review queue: questions no expert answered yet, and drafts to approve."""
        return (
            [e for e in self.all() if e.state == "open"],
            self.verified.all(("draft",)),
        )

    def _save(self, escalation: Escalation) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(self._key, escalation.id, json.dumps(asdict(escalation), ensure_ascii=False))
        pipe.hset(self._threads, f"{escalation.channel}:{escalation.thread_ts}", escalation.id)
        pipe.execute()
