"""A pipeline as the `ingest` commands run it: opened on the configured store and table store
(closed however the run ends), with a progress bar on a terminal. Shared by `ingest PATH...` and
`ingest sync`."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from ingest.faq_tables import TableColumns
from ingest.frontmatter import Labels


@contextmanager
def opened_pipeline(columns: TableColumns, labels: Labels = Labels()):
    """A pipeline on the configured store; the store is closed however the run ends."""
    from ingest.pipeline import Pipeline
    from knowledge.embeddings import Embedder, ingest_threads
    from knowledge.settings import KnowledgeSettings
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store
    from knowledge.tables import TableStore

    settings = KnowledgeSettings.from_environment()
    store = Store.open(settings)
    try:
        embedder = Embedder(settings.ingest_embedding_threads or ingest_threads())
        yield Pipeline(
            store, embedder, SparseEncoder(), columns, TableStore(settings.tables_path), labels
        )
    finally:
        store.close()


class progress_bar:
    """A tqdm bar over the chunks being written, on a terminal only."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __enter__(self):
        return self.update if self.enabled else None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
