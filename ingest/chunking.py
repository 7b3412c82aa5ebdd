"""SourceDocuments in, Chunks out: structure-aware, and never longer than the model reads.

Markdown is split at headings first (llama-index's MarkdownNodeParser), so each chunk
carries its heading path; long sections, plain text and long FAQ answers are then split at
sentence boundaries (SentenceSplitter) measured in the embedding model's own word pieces.
Every chunk's embedded text starts with its title and section, which a bare paragraph
lacks ("Meal allowance" tells the model what "60 EUR per day" is about).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import date

from llama_index.core import Document
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from ingest.documents import PAGE_BREAK, SourceDocument
from knowledge.access import EVERYONE, folders
from knowledge.models import Chunk

CHUNK_NAMESPACE = uuid.UUID("6f1c9b8e-2f49-4c64-9a55-4a3b3f0f7c11")
TARGET_TOKENS = 160
"""Preferred chunk size in word pieces: room for a whole paragraph, short enough to stay on one topic."""
OVERLAP_TOKENS = 24


class Chunker:
    def __init__(self, count_tokens: Callable[[str], int], max_tokens: int) -> None:
        self._count = count_tokens
        # The model adds [CLS] and [SEP]; keep a little slack for tokenizer edge cases.
        self._limit = max_tokens - 4
        self._markdown = MarkdownNodeParser()
        self._tokenize = lambda text: [None] * count_tokens(text)

    def chunk(self, doc: SourceDocument) -> list[Chunk]:
        pieces = [(section, text) for section, text in self._sections(doc) if text.strip()]
        parts = [
            (section, text)
            for section, body in pieces
            for text in self._fit(self._make(doc, 0, 0, section, "").heading, body)
        ]
        return [
            self._make(doc, position, len(parts), section, text)
            for position, (section, text) in enumerate(parts)
        ]

    def _sections(self, doc: SourceDocument) -> list[tuple[str, str]]:
        if doc.format == "pdf":
            # A page is the unit a PDF reader can find again: cite it.
            return [
                (f"page {n}", page) for n, page in enumerate(doc.text.split(PAGE_BREAK), start=1)
            ]
        if doc.format != "markdown":
            return [("", doc.text)]
        sections = []
        for node in self._markdown.get_nodes_from_documents([Document(text=doc.text)]):
            text = node.get_content()
            path = [p for p in node.metadata.get("header_path", "/").split("/") if p]
            first, _, rest = text.partition("\n")
            if first.startswith("#"):
                path.append(first.lstrip("#").strip())
                text = rest
            if path and path[0] == doc.title:
                path = path[1:]
            sections.append((" > ".join(path), text.strip()))
        return sections

    def _fits(self, heading: str, body: str) -> bool:
        return self._count(f"{heading}\n{body}" if heading else body) <= self._limit

    def _fit(self, heading: str, body: str) -> list[str]:
        """Split `body` so that every part, embedded under its heading, fits the model."""
        if self._fits(heading, body):
            return [body]
        room = max(32, min(TARGET_TOKENS, self._limit - self._count(heading) - 2))
        splitter = SentenceSplitter(
            chunk_size=room, chunk_overlap=min(OVERLAP_TOKENS, room // 4), tokenizer=self._tokenize
        )
        parts = []
        for part in splitter.split_text(body):
            parts.extend([part] if self._fits(heading, part) else self._hard_split(heading, part))
        return parts

    def _hard_split(self, heading: str, text: str) -> list[str]:
        """Last resort for text with no sentence breaks: cut between words until each part fits."""
        parts: list[str] = []
        current: list[str] = []
        for word in text.split():
            if current and not self._fits(heading, " ".join([*current, word])):
                parts.append(" ".join(current))
                current = []
            current.append(word)
        if current:
            parts.append(" ".join(current))
        return parts

    @staticmethod
    def _make(doc: SourceDocument, position: int, count: int, section: str, text: str) -> Chunk:
        return Chunk(
            id=str(uuid.uuid5(CHUNK_NAMESPACE, f"{doc.doc_id}#{position}")),
            doc_id=doc.doc_id,
            path=doc.path,
            text=text,
            title=doc.title,
            source=doc.source,
            kind=doc.kind,
            position=position,
            doc_chunks=count,
            content_hash=doc.content_hash,
            section=section,
            question=doc.question,
            answer=doc.answer,
            metadata={**doc.metadata, "changed_at": changed_on(doc.path)},
            audience=list(doc.audience or [EVERYONE]),
            tags=list(doc.tags),
            folders=folders(doc.path, doc.source),
        )


def changed_on(path: str) -> str:
    """When a document last changed, as ingest records it (outside its content hash): its file's
    modification date, or for a document without a local file, the day this ingest read it new."""
    try:
        return (
            date.fromtimestamp(os.stat(path).st_mtime).isoformat()
            if path
            else date.today().isoformat()
        )
    except OSError:
        return date.today().isoformat()
