"""The ingest run: discover files, load, compare with the index, chunk, embed, write.

Incremental by content hash: an unchanged document is skipped before it is embedded. A
changed document has its new chunks written first and its leftover old chunks deleted
after, so the bot never sees it missing. Rows gone from a re-read FAQ table are deleted;
with `prune`, so are documents whose file is gone.

A rebuild writes everything into a new collection and only then moves the alias the bot
reads; if anything fails, the new collection is dropped and the old one keeps serving.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from pathlib import Path

from ingest import tables as table_files
from ingest.chunking import Chunker
from ingest.documents import SourceFile
from ingest.errors import UnreadableSource
from ingest.faq_tables import TableColumns
from ingest.frontmatter import Labels, PathLabels, labelled
from ingest.loaders import discover, load
from ingest.plan import Indexed, Plan, indexed_documents, repeated_questions
from ingest.summary import Summary
from ingest.table_sources import is_table
from knowledge.embeddings import Embedder
from knowledge.models import Chunk
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from knowledge.tables import TableStore

EMBED_BATCH = 256

Progress = Callable[[int, int], None]
"""Called with (chunks written so far, chunks to write) after each batch."""


class Pipeline:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        sparse: SparseEncoder,
        columns: TableColumns = TableColumns(),
        tables: TableStore | None = None,
        labels: Labels = Labels(),
    ) -> None:
        """`tables`: where CSV, Parquet and Excel tables are loaded (without it they fail). `labels`: what
        `ingest --audience/--tag` gives this run's paths; paths given none keep what earlier ingests gave
        them (recorded in the collection), so a re-run or a reindex never opens a folder to everyone."""
        self.store = store
        self.tables = tables
        self.embedder = embedder
        self.sparse = sparse
        self.columns, self.labels = columns, labels
        self.chunker = Chunker(embedder.count_tokens, embedder.max_tokens)

    def run(
        self,
        paths: Iterable[Path],
        *,
        prune: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> Summary:
        """Bring the serving collection up to date with `paths`."""
        started = time.perf_counter()
        paths = list(paths)
        files = discover(paths)
        self._path_labels = PathLabels(self.store.path_labels(), self.labels, paths)
        collection = self.store.serving_collection()
        if (
            collection
        ):  # another model's vectors: only a rebuild may replace them, never add to them
            self.store.check_model(self.embedder.model_name)
        indexed = indexed_documents(self.store, collection) if collection else {}
        plan = self._plan(files, indexed, roots=paths if prune else [])
        if dry_run:
            summary = plan.summary(collection or "(none yet)")
            summary.dry_run = True
            return summary
        if collection is None:
            collection = self.store.ensure_serving_collection(
                self.embedder.dimension, self.embedder.model_name
            )
        self._load_tables(plan)
        summary = plan.summary(collection)
        summary.chunks_written = self.write(collection, plan, indexed, progress)
        self.store.record_ingest(
            collection, [p.resolve().as_posix() for p in paths], self._path_labels.as_dict()
        )
        summary.seconds = time.perf_counter() - started
        return summary

    def rebuild(self, paths: Iterable[Path], *, progress: Progress | None = None) -> Summary:
        """Build a fresh collection from `paths` and swap it in; keep the previous one for rollback."""
        started = time.perf_counter()
        paths = list(paths)
        self._path_labels = PathLabels(self.store.path_labels(), self.labels, paths)
        plan = self._plan(discover(paths), {}, roots=[])
        self._load_tables(plan)
        if plan.failed:
            summary = plan.summary(self.store.serving_collection() or "")
            summary.abandoned = True
            return summary
        collection = self.store.create_collection(self.embedder.dimension, self.embedder.model_name)
        summary = plan.summary(collection)
        try:
            summary.chunks_written = self.write(collection, plan, {}, progress)
            self.store.record_ingest(
                collection, [p.resolve().as_posix() for p in paths], self._path_labels.as_dict()
            )
            self.store.point_alias_at(collection)
            summary.rebuilt = True
        finally:
            # Whatever stopped the build (an error, Ctrl-C), the half-built collection
            # never serves: the alias still points at the old one.
            if not summary.rebuilt:
                self.store.drop_collection(collection)
        self.store.drop_old_collections(keep=2)
        summary.seconds = time.perf_counter() - started
        return summary

    # --- planning -------------------------------------------------------------------------

    def _plan(
        self, files: list[SourceFile], indexed: dict[str, Indexed], roots: list[Path]
    ) -> Plan:
        plan = Plan()
        by_path: dict[str, list[str]] = defaultdict(list)
        for doc_id, known in indexed.items():
            by_path[known.path].append(doc_id)
        catalogue = {t.name: t for t in self.tables.tables()} if self.tables else {}
        for file in files:
            if is_table(file, self.columns):
                self._plan_table(plan, file, indexed, by_path, catalogue)
                continue
            try:
                documents = [
                    labelled(doc, self._path_labels.of(file.path))
                    for doc in load(file, self.columns)
                ]
            except UnreadableSource as error:
                plan.failed.append({"path": file.path.as_posix(), "reason": str(error)})
                continue
            plan.notes += repeated_questions(file, documents)
            plan.sort_in(documents, indexed)
            # Rows removed from a table that was read again are gone from the knowledge base too.
            current = {doc.doc_id for doc in documents}
            for doc_id in by_path.get(file.path.as_posix(), []):
                if doc_id not in current:
                    plan.deleted[doc_id] = file.display
        seen = {file.path.as_posix() for file in files}
        for root in roots:
            root = root.resolve().as_posix()
            for path, doc_ids in by_path.items():
                if path and path not in seen and (path == root or path.startswith(root + "/")):
                    plan.deleted.update({doc_id: path for doc_id in doc_ids})
                    plan.dropped_tables += [t.name for t in catalogue.values() if t.path == path]
        return plan

    def _plan_table(
        self,
        plan: Plan,
        file: SourceFile,
        indexed: dict[str, Indexed],
        by_path: dict[str, list[str]],
        catalogue: dict,
    ) -> None:
        try:
            if self.tables is None:
                raise UnreadableSource(
                    "tables (CSV without question/answer columns, Parquet, Excel) need "
                    "a table store; run `ingest`, which opens $DATA_DIR/tables.duckdb"
                )
            found = table_files.plan_file(
                file,
                {k: v.content_hash for k, v in indexed.items()},
                by_path.get(file.path.as_posix(), []),
                catalogue,
                self._path_labels.of(file.path),
            )
        except UnreadableSource as error:
            plan.failed.append({"path": file.path.as_posix(), "reason": str(error)})
            return
        plan.tables += found.jobs
        plan.unchanged += found.unchanged
        plan.deleted.update({doc_id: file.display for doc_id in found.deleted})
        plan.dropped_tables += found.dropped

    def _load_tables(self, plan: Plan) -> None:
        """Load changed tables into DuckDB and make their passages; a table that fails to
        load is reported and its previous version keeps serving, passages and all."""
        for job in list(plan.tables):
            try:
                plan.table_documents += table_files.load(self.tables, job)
            except UnreadableSource as error:
                plan.failed.append({"path": job.file.path.as_posix(), "reason": str(error)})
                plan.tables.remove(job)

    # --- writing --------------------------------------------------------------------------

    def write(
        self,
        collection: str,
        plan: Plan,
        indexed: dict[str, Indexed],
        progress: Progress | None,
        *,
        together: bool = False,
    ) -> int:
        """Embed and write the plan. `together` (a synced source): every chunk is embedded first and
        written in one upsert, so a source's new documents appear at once, not batch by batch."""
        documents = [*plan.added, *plan.updated, *plan.table_documents]
        chunks = [chunk for doc in documents for chunk in self.chunker.chunk(doc)]
        ready = []
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            ready.append((batch, *self._vectors(batch)))
            if not together:
                self.store.upsert(collection, *ready.pop())
            if progress:
                progress(start + len(batch), len(chunks))
        if ready:
            self.store.upsert(
                collection, *(list(chain.from_iterable(part)) for part in zip(*ready, strict=True))
            )
        # Only now, with every new chunk in place, remove what the new versions did not overwrite.
        fresh = {c.id for c in chunks}
        stale = [old for doc in plan.updated for old in indexed[doc.doc_id].chunk_ids - fresh]
        stale += [old for doc_id in plan.deleted for old in indexed[doc_id].chunk_ids]
        # A table's passages are rewritten whole: rows it no longer has go.
        stale += [
            old
            for doc_id, known in indexed.items()
            if table_files.of_jobs(doc_id, plan.tables)
            for old in known.chunk_ids - fresh
        ]
        self.store.delete_points(collection, stale)
        if self.tables is not None:
            self.tables.drop(plan.dropped_tables)
        return len(chunks)

    def _vectors(self, chunks: list[Chunk]) -> tuple[list, list, list]:
        """Dense, sparse and heading vectors of `chunks`, as Store.upsert takes them."""
        texts = [c.embedding_text for c in chunks]
        # What each chunk is about (an FAQ row's question, a section's title and headings),
        # matched against the question as a side of its own. Chunks of one section share it.
        headings = [c.heading for c in chunks if c.heading]
        # Each distinct text is embedded once (a page served at two addresses, a heading that is
        # also a whole passage): a text's vector does not depend on the others in its batch.
        unique = list(dict.fromkeys([*texts, *headings]))
        vectors = dict(zip(unique, self.embedder.embed_documents(unique), strict=True))
        sparse = [self.sparse.encode_document(text) for text in texts]
        return (
            [vectors[text] for text in texts],
            sparse,
            [vectors[c.heading] if c.heading else None for c in chunks],
        )
