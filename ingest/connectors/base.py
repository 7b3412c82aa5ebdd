"""What every connector does and what it hands back.

A connector's `pull(pull, full)` fills a `Pull` as it goes: documents new or changed since the
state it was given, and on a full pass the ids of every document the source still has (the slim
listing that finds deletions). When it raises half-way, what it had already put in `pull` is
still written (a partial failure keeps what was synced) and no deletion is made.

ConnectorError            a source could not be read; the message says what to fix
 ├── SourceAuthError      the token is missing, wrong or expired
 └── SourceUnavailable    the source kept failing (5xx, timeouts, 429s past the retry budget)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.documents import SourceDocument
from ingest.errors import IngestError


class ConnectorError(IngestError):
    """A source could not be read; the message says what to fix."""


class SourceAuthError(ConnectorError):
    pass


class SourceUnavailable(ConnectorError):
    pass


@dataclass
class Pull:
    """What one run of a connector found."""

    state: dict[str, Any]
    """The connector's own bookkeeping (cursors, validators); saved once what was pulled is written."""
    documents: list[SourceDocument] = field(default_factory=list)
    """New or changed since `state` (a connector may include unchanged ones; their hash skips them)."""
    present: set[str] = field(default_factory=set)
    """On a full pass: the doc_id of every document the source still has, fetched or not."""
    removed: set[str] = field(default_factory=set)
    """doc_ids that must go now, on any pass (a page newly restricted to readers we cannot express)."""
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Items deliberately not ingested, each {"item": ..., "reason": ...} (a page readers cannot be mapped for)."""
    requests: int = 0

    def add(self, document: SourceDocument) -> None:
        self.documents.append(document)
        self.present.add(document.doc_id)


class Connector(Protocol):
    full_only: bool
    """True when every run is a full pass (the website: conditional GETs keep it cheap)."""

    def pull(self, pull: Pull, full: bool) -> None:
        """Fill `pull`; `full` lists every document (for deletions), else only what changed since `pull.state`."""
        ...
