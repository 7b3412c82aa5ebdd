"""What an ingest run will change, worked out before anything is embedded or written: what the
collection already holds of each document (`Indexed`), and the `Plan` of documents to add,
update and delete that the pipeline and the sync runner fill in and then write."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.documents import SourceDocument, SourceFile
from ingest.summary import Summary
from ingest.tables import TableJob
from knowledge.store import Store


@dataclass(frozen=True)
class Indexed:
    """What the collection already holds of one document."""

    path: str
    content_hash: str
    """"" when the document's chunks disagree or some are missing (an interrupted write)."""
    chunk_ids: frozenset[str]


@dataclass
class Plan:
    """What a run will change, worked out before anything is embedded or written."""

    added: list[SourceDocument] = field(default_factory=list)
    updated: list[SourceDocument] = field(default_factory=list)
    unchanged: int = 0
    deleted: dict[str, str] = field(default_factory=dict)
    """doc_id -> source of documents to delete."""
    failed: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[TableJob] = field(default_factory=list)
    """Tables to load (when their file changed) and index; a table counts as one document."""
    table_documents: list[SourceDocument] = field(default_factory=list)
    dropped_tables: list[str] = field(default_factory=list)

    def sort_in(self, documents: Iterable[SourceDocument], indexed: dict[str, Indexed]) -> None:
        """Each document as added (new), updated (its content changed) or unchanged, against what
        the index holds."""
        for doc in documents:
            known = indexed.get(doc.doc_id)
            if known is None:
                self.added.append(doc)
            elif known.content_hash != doc.content_hash:
                self.updated.append(doc)
            else:
                self.unchanged += 1

    def summary(self, collection: str) -> Summary:
        new = [job.file.display for job in self.tables if job.new]
        changed = [job.file.display for job in self.tables if not job.new]
        return Summary(
            added=len(self.added) + len(new),
            updated=len(self.updated) + len(changed),
            unchanged=self.unchanged,
            deleted=len(self.deleted),
            failed=self.failed,
            collection=collection,
            changes={
                "added": [d.source for d in self.added] + new,
                "updated": [d.source for d in self.updated] + changed,
                "deleted": sorted(self.deleted.values()),
            },
            notes=self.notes,
        )


def indexed_documents(store: Store, collection: str) -> dict[str, Indexed]:
    """What `collection` holds of each document, read from its chunks."""
    paths: dict[str, str] = {}
    hashes: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, set[str]] = defaultdict(set)
    expected: dict[str, int] = {}
    for chunk in store.chunks(collection):
        paths[chunk.doc_id] = chunk.path
        hashes[chunk.doc_id].add(chunk.content_hash)
        ids[chunk.doc_id].add(chunk.id)
        expected[chunk.doc_id] = chunk.doc_chunks
    return {
        doc_id: Indexed(
            paths[doc_id],
            _whole(hashes[doc_id], len(ids[doc_id]), expected[doc_id]),
            frozenset(ids[doc_id]),
        )
        for doc_id in paths
    }


def _whole(hashes: set[str], present: int, expected: int) -> str:
    """The document's hash if all its chunks are there and agree, else "" (rewrite it)."""
    if len(hashes) != 1 or present != expected:
        return ""
    return next(iter(hashes))


def repeated_questions(file: SourceFile, documents: list[SourceDocument]) -> list[str]:
    """Rows of one table asking the same question: all are kept, and the owner should know."""
    counts = Counter(doc.question for doc in documents if doc.kind == "faq")
    return [
        f"{file.display}: {count} rows ask {question!r}; each is kept as its own answer"
        for question, count in counts.items()
        if count > 1
    ]
