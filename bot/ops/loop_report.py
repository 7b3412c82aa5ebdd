"""The knowledge loop in the report (`bot report`, `/kb report`, `/kb status`, the digest): the
review queue, verified answers past their review date, how long an escalated question waited
for an approved answer, and documents past their review date with their owners."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict

from bot.chain.freshness import StaleDocument, describe_stale, stale_documents

SHOWN = 10


def loop_section(verified, escalations, chunks, today: str) -> dict:
    """`verified`, `escalations`: the stores (bot/chain/verified.py, escalations.py); `chunks`: the
    serving index's chunks (for the stale documents)."""
    waiting, drafts = escalations.waiting()
    approved = verified.all(("approved",))
    waits = [
        (e.approved_at - e.escalated_at) / 3600
        for e in approved
        if e.escalated_at and e.approved_at
    ]
    return {
        "review_queue": {
            "questions": [
                {"question": e.question, "channel": e.channel, "asked_at": e.at} for e in waiting
            ],
            "drafts": [
                {
                    "id": d.id,
                    "question": d.question,
                    "answer": d.answer,
                    "owner": d.owner,
                    "source": d.source,
                }
                for d in drafts
            ],
        },
        "verified_answers": len(approved),
        "verified_overdue": [
            {
                "id": e.id,
                "question": e.question,
                "owner": e.owner,
                "review_by": e.review_by,
                "asked_since": e.id in verified.asked_overdue(),
            }
            for e in approved
            if e.overdue(today)
        ],
        "escalation_to_approval_hours": {
            "answers": len(waits),
            "median": round(statistics.median(waits), 1) if waits else None,
            "max": round(max(waits), 1) if waits else None,
        },
        "stale_documents": [asdict(d) for d in stale_documents(chunks, today)],
    }


def loop_lines(loop: dict, slack: bool = False) -> list[str]:
    """The section as text lines (Slack: bold headings)."""
    queue, hours = loop["review_queue"], loop["escalation_to_approval_hours"]

    def heading(text: str) -> str:
        return f"*{text}*" if slack else text

    lines = [
        heading("Knowledge loop"),
        (
            f"  verified answers {loop['verified_answers']}, {len(loop['verified_overdue'])} past review-by; "
            f"review queue: {len(queue['drafts'])} drafts, {len(queue['questions'])} questions waiting"
        ),
    ]
    if hours["answers"]:
        lines.append(
            f"  escalation to approved answer: median {hours['median']} h, longest {hours['max']} h "
            f"({hours['answers']} answers)"
        )
    for draft in queue["drafts"][:SHOWN]:
        lines.append(f"  draft {draft['id']}: {draft['question']!r} (by {draft['owner']})")
    for question in queue["questions"][:SHOWN]:
        waited = (time.time() - question["asked_at"]) / 3600
        lines.append(f"  waiting {waited:.0f} h: {question['question']!r} ({question['channel']})")
    for entry in loop["verified_overdue"][:SHOWN]:
        lines.append(
            f"  past review-by {entry['review_by']}: {entry['question']!r} (owner {entry['owner']})"
        )
    stale = loop["stale_documents"]
    lines.append(heading(f"Documents past their review date: {len(stale)}"))
    lines += [f"  {line}" for line in describe_stale([StaleDocument(**d) for d in stale], SHOWN)]
    return lines


def loop_from_settings(settings) -> dict:
    """The section from Redis and the store, as the CLI builds it (no model loaded). The embedded
    store may be held by `bot serve`: then the stale documents are left out, and said so."""
    from datetime import date

    from bot.chain.escalations import Escalations
    from bot.chain.thread_memory import connect
    from bot.chain.verified import VerifiedAnswers
    from knowledge.errors import KnowledgeError
    from knowledge.store import Store

    client = connect(settings.redis_url)
    verified = VerifiedAnswers(client, settings.redis_prefix, None, settings.verified_match)
    escalations = Escalations(client, settings.redis_prefix, verified, settings.experts)
    knowledge = settings.knowledge
    if (
        not knowledge.qdrant_url and not knowledge.qdrant_path.exists()
    ):  # nothing ingested here: nothing stale
        return loop_section(verified, escalations, [], date.today().isoformat())
    try:
        store = Store.open(knowledge)
    except KnowledgeError as error:
        loop = loop_section(verified, escalations, [], date.today().isoformat())
        return {**loop, "stale_documents_unavailable": str(error)}
    try:
        return loop_section(verified, escalations, store.chunks(), date.today().isoformat())
    finally:
        store.close()
