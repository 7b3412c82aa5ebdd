"""The Store: the knowledge base as the rest of the code sees it, on top of one Qdrant engine
(`knowledge/engines/`). All Qdrant access lives in `knowledge`, so the engine can change in
one place.

The bot reads an alias (QDRANT_COLLECTION); each build of the index is a collection behind
it, so a rebuild can be swapped in atomically. A search fuses the chunk's vector, its
heading's vector and BM25 with reciprocal rank fusion inside the engine.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from knowledge.access import Access
from knowledge.builds import CollectionBuilds
from knowledge.engines import (
    DENSE,
    QUESTION,
    RRF_K,
    SPARSE,
    ClientEngine,
    EdgeEngine,
    Engine,
    Hit,
    Vectors,
    open_engine,
)
from knowledge.errors import EmptyKnowledgeBase, IndexModelMismatch
from knowledge.hybrid_search import (
    CANDIDATES,
    Mode,
    fusion_weights,
    scored_passages,
    search_sides,
)
from knowledge.models import Chunk, IndexInfo, Passage, Serving
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseVector

__all__ = [
    "DENSE",
    "QUESTION",
    "RRF_K",
    "SPARSE",
    "ClientEngine",
    "EdgeEngine",
    "Engine",
    "Hit",
    "IndexInfo",
    "Serving",
    "Store",
    "open_engine",
]

SERVING_TTL_S = 2.0
"""How long a Store trusts what it last read of the serving collection (its name, revision and
audiences): on a Qdrant server that read is two requests, and a turn needs it up to three times.
The Store's own ingests and swaps it sees at once, another process's within this time. Stale
audiences fail closed: a user group given a document since is not yet looked up (its members are
not yet let in); one no longer used is looked up for nothing."""
LEGACY_MODEL = "all-MiniLM-L6-v2"
"""What wrote an index that records no model: every build before the model was recorded."""


class Store(CollectionBuilds):
    """The knowledge base: its serving collection and what it records, writing chunks, and search.
    Creating, swapping and dropping the builds behind the alias is `CollectionBuilds`' job."""

    def __init__(self, engine: Engine, alias: str) -> None:
        self.engine = engine
        self.alias = alias
        self._serving: tuple[float, Serving, int] | None = (
            None  # read at, what was read, _changes then
        )
        self._changes = 0  # this Store's own swaps and ingests so far

    @classmethod
    def open(cls, settings: KnowledgeSettings) -> Store:
        return cls(open_engine(settings), settings.qdrant_collection)

    def close(self) -> None:
        self.engine.close()

    # --- the serving collection --------------------------------------------------------

    def ensure_serving_collection(self, dimension: int, model: str) -> str:
        """The serving collection, created (and aliased) on first use; one of another model is refused."""
        current = self.serving_collection()
        if current is not None:
            self.check_model(model)
            return current
        collection = self.create_collection(dimension, model)
        self.point_alias_at(collection)
        return collection

    def record_ingest(
        self, collection: str, sources: list[str], labels: dict[str, dict] | None = None
    ) -> None:
        """Stamp the collection with this ingest: what was read, when, a new revision, the
        audiences and tags given per path (`ingest --audience/--tag`, so that a reindex keeps
        them), and how many documents each audience has."""
        meta = self.engine.metadata(collection)
        self.engine.ensure_indexes(collection)
        self.engine.set_metadata(
            collection,
            {
                **meta,
                "sources": sorted(set(meta.get("sources", [])) | set(sources)),
                "labels": {**meta.get("labels", {}), **(labels or {})},
                "audiences": self._audience_counts(collection),
                "last_ingest": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "revision": int(meta.get("revision", 0)) + 1,
            },
        )
        self._changes += 1

    def _audience_counts(self, collection: str) -> dict[str, int]:
        # A table counts once, by its card: its row passages share its audience.
        audiences = {
            chunk.doc_id: chunk.audience for chunk in self.chunks(collection) if chunk.kind != "row"
        }
        counts = Counter(value for values in audiences.values() for value in values)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def path_labels(self) -> dict[str, dict]:
        """Resolved path -> {"audience": [...], "tags": [...]} given for it at ingest."""
        collection = self.serving_collection()
        return dict(self.engine.metadata(collection).get("labels", {})) if collection else {}

    def serving(self) -> Serving:
        """The serving collection, its revision and audiences, in one read (SERVING_TTL_S old at most)."""
        now, changes = (
            time.monotonic(),
            self._changes,
        )  # a swap during the read below makes it stale
        cached = self._serving
        if cached is not None and cached[2] == changes and now - cached[0] < SERVING_TTL_S:
            return cached[1]
        collection = self.serving_collection()
        meta = self.engine.metadata(collection) if collection else {}
        serving = Serving(
            collection,
            int(meta.get("revision", 0)),
            dict(meta.get("audiences", {})),
            meta.get("embedding_model") or LEGACY_MODEL,
        )
        self._serving = (now, serving, changes)
        return serving

    def check_model(self, model: str) -> None:
        """Raise IndexModelMismatch unless the serving index holds vectors of `model`."""
        serving = self.serving()
        if serving.collection is not None and serving.model != model:
            raise IndexModelMismatch(
                f"The knowledge base {self.alias!r} was built with the embedding model {serving.model}, and this "
                f"version embeds questions with {model}: rebuild it with `ingest --rebuild PATH...` (the same "
                "paths as before; `ingest status` lists them)."
            )

    def audiences(self) -> dict[str, int]:
        """Audience value -> documents listing it, in the serving collection (as of its last ingest)."""
        return dict(self.serving().audiences)

    def version(self) -> str:
        """Serving collection and revision: changes whenever what the bot reads changes."""
        return self.serving().version

    def info(self) -> IndexInfo | None:
        collection = self.serving_collection()
        if collection is None:
            return None
        meta = self.engine.metadata(collection)
        return IndexInfo(
            collection=collection,
            version=self.version(),
            chunks=self.engine.count(collection),
            documents=len({chunk.doc_id for chunk in self.chunks(collection)}),
            last_ingest=meta.get("last_ingest", ""),
            sources=list(meta.get("sources", [])),
            previous=self.previous_collection(),
            audiences=dict(meta.get("audiences", {})),
            model=meta.get("embedding_model") or LEGACY_MODEL,
        )

    # --- writing -----------------------------------------------------------------------

    def upsert(
        self,
        collection: str,
        chunks: Sequence[Chunk],
        dense: Sequence[Sequence[float]],
        sparse: Sequence[SparseVector],
        questions: Sequence[Sequence[float] | None],
    ) -> None:
        points = []
        for chunk, d, s, q in zip(chunks, dense, sparse, questions, strict=True):
            vectors: Vectors = {DENSE: list(d), SPARSE: s}
            if q is not None:
                vectors[QUESTION] = list(q)
            points.append((chunk.id, vectors, chunk.payload()))
        if points:
            self.engine.upsert(collection, points)

    def delete_points(self, collection: str, point_ids: Iterable[str]) -> None:
        point_ids = list(point_ids)
        if point_ids:
            self.engine.delete(collection, point_ids)

    # --- reading -----------------------------------------------------------------------

    def count(self) -> int:
        collection = self.serving_collection()
        return 0 if collection is None else self.engine.count(collection)

    def chunks_by_id(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """Those of `chunk_ids` the serving collection holds now, by id (none before the first ingest)."""
        found = (
            self.engine.retrieve(self.alias, chunk_ids)
            if chunk_ids and self.serving_collection()
            else {}
        )
        return {
            point_id: Chunk.from_payload(point_id, payload) for point_id, payload in found.items()
        }

    def content_hashes(self, chunk_ids: list[str]) -> dict[str, str]:
        """Chunk id -> its document's content hash, for the chunks the serving collection holds."""
        return {
            point_id: chunk.content_hash for point_id, chunk in self.chunks_by_id(chunk_ids).items()
        }

    def chunks(self, collection: str | None = None) -> Iterator[Chunk]:
        """Every chunk of a collection (the serving one by default), without vectors."""
        collection = collection or self.serving_collection()
        if collection is None:
            return
        for point_id, payload, _ in self.engine.scroll(collection):
            yield Chunk.from_payload(point_id, payload)

    def search(
        self,
        dense: Sequence[float],
        sparse: SparseVector,
        limit: int,
        *,
        access: Access,
        mode: Mode = "hybrid",
        headings: bool = True,
        dense_weight: float = 1.0,
    ) -> list[Passage]:
        """Hybrid search: candidates by meaning (the chunk's text, and its heading alone: an
        FAQ row's question, a section's title and headings) and by keywords (BM25), fused by
        reciprocal rank inside the engine. `mode` "dense" or "sparse" asks one side alone (for
        `bot eval retrieval`). `headings` False leaves out the heading side, which suits a
        standalone question only. `dense_weight` weighs the dense sides against the lexical
        side's 1 in the fusion (knowledge/retrieval.py chooses it per language). `access` is who asks: only
        passages they may see are candidates (one payload filter inside the engine).

        Each passage's `score` is its cosine similarity to the question, which, unlike an
        RRF score, says how relevant it is on an absolute scale.
        """
        sides = search_sides(dense, sparse, mode, headings)
        if not sides:
            return []
        if self.serving_collection() is None:
            raise EmptyKnowledgeBase(f"No collection {self.alias!r} exists yet.")
        # Through the alias: a rebuild that moves it is seen by the very next query.
        hits = self.engine.query(
            self.alias,
            sides,
            limit,
            max(limit, CANDIDATES),
            fusion_weights(sides, dense_weight),
            access.clauses(),
        )
        return scored_passages(hits, dense)
