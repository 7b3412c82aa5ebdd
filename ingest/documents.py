"""What a loader or a connector hands the pipeline: a `SourceDocument` (one manual page, one
FAQ row, one wiki page), the `SourceFile` it was read from, and the content hash that tells the
pipeline whether a document changed since the last ingest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.models import Kind

PAGE_BREAK = "\f"
"""Separates PDF pages in a document's text; the chunker makes each page a section."""
INDEX_FORMAT = 4
"""Part of every document's content hash. Bump it when what is stored per chunk changes
(2: a heading vector for every chunk, not only FAQ rows; 4: audience, tags and folders, which
every query filters on): the next ingest then re-embeds every document instead of skipping it
as unchanged."""


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str
    """Stable identity: the file path, plus the question for FAQ rows."""
    title: str
    source: str
    """What users see: the row's link, else the file path."""
    kind: Kind
    format: str
    """How the text is structured: "markdown", "text" or "faq"."""
    text: str
    path: str = ""
    """The file it came from (resolved), to find documents whose file is gone."""
    question: str = ""
    answer: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    audience: tuple[str, ...] = ()
    """Who may read it (knowledge/access.py); empty: the path's default, else everyone."""
    tags: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        # The labels too: a document whose audience changes is rewritten, and answers citing it retired.
        material = json.dumps(
            [
                INDEX_FORMAT,
                self.title,
                self.source,
                self.text,
                self.question,
                self.answer,
                self.metadata,
                self.audience,
                self.tags,
            ],
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(material.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SourceFile:
    path: Path
    """Resolved, so a file has one identity whatever directory ingest runs from."""
    display: str
    """What users see when the file has no link: its path from the folder that was ingested."""
