"""A reindex: the zero-downtime rebuild of the whole index from its sources, as the Slack
`/kb reindex` runs it in a serving process (`ingest --rebuild` calls the same Pipeline.rebuild
on the pipeline it already holds)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ingest.faq_tables import TableColumns
from ingest.frontmatter import Labels
from ingest.pipeline import Pipeline, Progress, Summary
from ingest.settings import IngestSettings
from ingest.sync.config import SOURCE_PATH
from knowledge.embeddings import Embedder
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from knowledge.tables import TableStore


def sources_to_reindex(settings: IngestSettings, store: Store) -> list[Path]:
    """KB_SOURCES, or else the paths the last ingests read (empty when nothing is known). The
    synced sources recorded beside them (`source:NAME`) are not paths: the next sync after the
    rebuild reads each of them whole into the new index (ingest/sync/runner.py)."""
    if settings.sources:
        return [Path(p) for p in settings.sources]
    info = store.info()
    return [Path(p) for p in info.sources if not p.startswith(SOURCE_PATH)] if info else []


def reindex(
    store: Store,
    embedder: Embedder,
    sources: Iterable[Path],
    *,
    progress: Progress | None = None,
    columns: TableColumns = TableColumns(),
    tables: TableStore | None = None,
    labels: Labels = Labels(),
) -> Summary:
    """Build a new collection from `sources` and swap it in when complete; the previous one keeps
    serving until then, and is kept for `ingest rollback`. `labels`: `ingest --rebuild --audience/--tag`;
    paths given none keep the audience and tags earlier ingests recorded for them."""
    return Pipeline(store, embedder, SparseEncoder(), columns, tables, labels).rebuild(
        sources, progress=progress
    )
