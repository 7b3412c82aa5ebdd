"""The ingest run: discover files, load, chunk, embed, write, and account for every document.

Incremental by content hash: an unchanged document is skipped before it is embedded; a
changed one has its new chunks written first and its leftover old chunks deleted after,
so the bot never sees the document missing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import Chunker
from ingest.errors import UnreadableSource
from ingest.loaders import SourceDocument, discover, load
from knowledge.embeddings import Embedder
from knowledge.models import Chunk
from knowledge.sparse import SparseEncoder
from knowledge.store import Store

EMBED_BATCH = 256


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks_written: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    collection: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "deleted": self.deleted, "failed": self.failed, "chunks_written": self.chunks_written,
            "collection": self.collection,
        }


@dataclass(frozen=True)
class Indexed:
    """What the collection already holds of one document."""

    content_hash: str
    chunk_ids: frozenset[str]


class Pipeline:
    def __init__(self, store: Store, embedder: Embedder, sparse: SparseEncoder) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.chunker = Chunker(embedder.count_tokens, embedder.max_tokens)

    def run(self, paths: Iterable[Path]) -> Summary:
        files = discover(list(paths))
        collection = self.store.ensure_serving_collection(self.embedder.dimension)
        summary = Summary(collection=collection)
        indexed = self._indexed(collection)
        for file in files:
            try:
                documents = load(file)
            except UnreadableSource as error:
                summary.failed.append({"path": file.path.as_posix(), "reason": str(error)})
                continue
            self._write(collection, documents, indexed, summary)
        return summary

    def _indexed(self, collection: str) -> dict[str, Indexed]:
        hashes: dict[str, str] = {}
        ids: dict[str, set[str]] = defaultdict(set)
        for chunk in self.store.chunks(collection):
            hashes[chunk.doc_id] = chunk.content_hash
            ids[chunk.doc_id].add(chunk.id)
        return {doc_id: Indexed(hashes[doc_id], frozenset(ids[doc_id])) for doc_id in hashes}

    def _write(self, collection: str, documents: list[SourceDocument], indexed: dict[str, Indexed],
               summary: Summary) -> None:
        changed = [d for d in documents if indexed.get(d.doc_id, Indexed("", frozenset())).content_hash != d.content_hash]
        summary.unchanged += len(documents) - len(changed)
        chunks = [chunk for doc in changed for chunk in self.chunker.chunk(doc)]
        for start in range(0, len(chunks), EMBED_BATCH):
            self._upsert(collection, chunks[start:start + EMBED_BATCH])
        summary.chunks_written += len(chunks)
        fresh_ids = {c.id for c in chunks}
        stale = [old_id for d in changed if d.doc_id in indexed for old_id in indexed[d.doc_id].chunk_ids - fresh_ids]
        if stale:
            self.store.delete_points(collection, stale)
        for doc in changed:
            if doc.doc_id in indexed:
                summary.updated += 1
            else:
                summary.added += 1

    def _upsert(self, collection: str, chunks: list[Chunk]) -> None:
        texts = [c.embedding_text for c in chunks]
        dense = self.embedder.embed_documents(texts)
        sparse = [self.sparse.encode_document(text) for text in texts]
        faq_questions = iter(self.embedder.embed_documents([c.question for c in chunks if c.kind == "faq"]))
        questions = [next(faq_questions) if c.kind == "faq" else None for c in chunks]
        self.store.upsert(collection, chunks, dense, sparse, questions)
