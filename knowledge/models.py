"""Data that crosses package boundaries: what ingest stores and what retrieval returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from knowledge.access import EVERYONE

Kind = Literal["faq", "doc", "table", "row"]
"""A table card (a table's name, columns and sample rows) and a table's row are passages too."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One indexed unit: an FAQ row or a section of a document, small enough to embed whole."""

    id: str
    """Stable point id (uuid5 of doc_id and position), so re-ingesting overwrites."""
    doc_id: str
    """The document this chunk belongs to: a file, or one row of an FAQ table."""
    text: str
    """This chunk's part of the document, as written (what is quoted)."""
    title: str
    source: str
    """What users see as the source: a link when the document has one, else its path."""
    kind: Kind = "doc"
    path: str = ""
    """The file the document came from, to prune documents whose file is gone."""
    position: int = 0
    doc_chunks: int = 0
    """How many chunks the document has: a document with fewer indexed was interrupted."""
    content_hash: str = ""
    """Hash of the whole document's content, to skip unchanged documents."""
    section: str = ""
    """Heading path inside the document, "" for the top."""
    question: str = ""
    """For FAQ rows: the question as written in the table."""
    answer: str = ""
    """For FAQ rows: the answer as written in the table."""
    metadata: dict[str, Any] = field(default_factory=dict)
    audience: list[str] = field(default_factory=lambda: [EVERYONE])
    """Who may read it (knowledge/access.py); indexed, and filtered on in every query."""
    tags: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    """Every folder the document lives under, so a channel scoped to a folder is a keyword match."""

    @property
    def restricted(self) -> bool:
        return self.audience != [EVERYONE]

    @property
    def heading(self) -> str:
        """What the text is about: the FAQ question, or the title and section path."""
        return self.question if self.kind == "faq" else self.label

    @property
    def label(self) -> str:
        """How a source is named to people and models: its title and section path ("title > section")."""
        return " > ".join(part for part in (self.title, self.section) if part)

    @property
    def embedding_text(self) -> str:
        """What is embedded and searched: a bare paragraph lacks its heading's context."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        del data["id"]
        return data

    @classmethod
    def from_payload(cls, point_id: str, payload: dict[str, Any]) -> Chunk:
        known = {k: payload[k] for k in cls.__dataclass_fields__ if k in payload and k != "id"}
        return cls(id=str(point_id), **known)


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with how well it matches the question."""

    chunk: Chunk
    score: float
    """Cosine similarity between the question and the chunk (e5: mostly 0.7..0.95)."""
    rank: int
    """1-based position in the fused ranking."""
    question_score: float | None = None
    """For FAQ rows: cosine similarity between the question and the row's own question."""

    @property
    def id(self) -> str:
        return self.chunk.id

    @property
    def quote(self) -> str:
        """What to quote when answering from this passage alone: a whole FAQ answer, or the chunk."""
        return self.chunk.answer or self.chunk.text


@dataclass(frozen=True)
class IndexInfo:
    """What `status` shows: the serving collection, its version and contents."""

    collection: str
    version: str
    """Changes with every ingest that writes to the serving collection, and with every swap."""
    chunks: int
    documents: int
    last_ingest: str
    sources: list[str] = field(default_factory=list)
    previous: str | None = None
    """The collection `ingest rollback` would go back to."""
    audiences: dict[str, int] = field(default_factory=dict)
    """Audience value -> how many documents list it (as of the last ingest)."""
    model: str = ""
    """The embedding model whose vectors it holds."""


@dataclass(frozen=True)
class Serving:
    """The serving collection as a turn reads it: which one, its revision, who its documents are for."""

    collection: str | None  # None before the first ingest
    revision: int = 0
    audiences: dict[str, int] = field(default_factory=dict)  # value -> documents listing it
    model: str = ""
    """The embedding model whose vectors it holds."""

    @property
    def version(self) -> str:
        """Changes whenever what the bot reads changes ("" before the first ingest)."""
        return f"{self.collection}.{self.revision}" if self.collection else ""
