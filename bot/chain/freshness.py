"""Documents with owners and review dates: front matter or CSV columns `owner` and `review_by`
(kept in each chunk's metadata), and `changed_at`, when ingest saw the document last change
(ingest/chunking.py). An answer citing a document past its review date says when it was last
reviewed; the report, `/kb status`, `/kb report` and the digest list such documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from bot.chain.answer import Answer


@dataclass(frozen=True)
class StaleDocument:
    title: str
    source: str
    owner: str
    review_by: str
    last_reviewed: str


def last_reviewed(metadata: dict) -> str:
    """A document's own `last_reviewed` (front matter), else the day it last changed."""
    return str(metadata.get("last_reviewed") or metadata.get("changed_at") or "unknown")


def overdue(metadata: dict, today: str) -> bool:
    review_by = str(metadata.get("review_by") or "")
    return bool(review_by) and review_by[:10] < today


def with_review_dates(answer: Answer, today: str | None = None) -> Answer:
    """The answer with a note for each cited document past its review date."""
    today = today or date.today().isoformat()
    notes = [
        f"[{number}] was due for review on {str(p.chunk.metadata['review_by'])[:10]}; last reviewed "
        f"{last_reviewed(p.chunk.metadata)}"
        + (f" (owner: {p.chunk.metadata['owner']})" if p.chunk.metadata.get("owner") else "")
        for number, p in enumerate(answer.sources, start=1)
        if overdue(p.chunk.metadata, today)
    ]
    if answer.refused or not notes:
        return answer
    return replace(answer, text="\n\n".join([answer.text, *(f"_{note}._" for note in notes)]))


def stale_documents(chunks: Iterable, today: str | None = None) -> list[StaleDocument]:
    """Each document past its review date, once, oldest review date first."""
    today = today or date.today().isoformat()
    found: dict[str, StaleDocument] = {}
    for chunk in chunks:
        if chunk.doc_id not in found and overdue(chunk.metadata, today):
            found[chunk.doc_id] = StaleDocument(
                chunk.title,
                chunk.source,
                str(chunk.metadata.get("owner") or ""),
                str(chunk.metadata["review_by"])[:10],
                last_reviewed(chunk.metadata),
            )
    return sorted(found.values(), key=lambda d: d.review_by)


def describe_stale(documents: list[StaleDocument], limit: int = 10) -> list[str]:
    """One line each, for Slack and the terminal."""
    return [
        f"{d.title} ({d.source}): review by {d.review_by}, last reviewed {d.last_reviewed}, "
        f"owner {d.owner or 'none'}"
        for d in documents[:limit]
    ]
