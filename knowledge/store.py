"""All Qdrant access lives here, so the engine behind it can change in one place.

Embedded (qdrant-client local mode, a directory on disk) by default, or a Qdrant server
when QDRANT_URL is set; the same calls work on both. The bot reads an alias
(QDRANT_COLLECTION); each build of the index is a collection behind it, so a rebuild can
be swapped in atomically.

Points carry two named vectors: "dense" (MiniLM, cosine) and "sparse" (BM25 term weights,
with Qdrant's IDF modifier). A search asks for both and fuses them with reciprocal rank
fusion inside Qdrant's query API.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from knowledge.errors import EmptyKnowledgeBase, StoreLocked, StoreUnavailable
from knowledge.models import Chunk, Passage
from knowledge.settings import Settings
from knowledge.sparse import SparseVector

DENSE = "dense"
SPARSE = "sparse"
QUESTION = "question"
"""FAQ rows only: the row's question alone, to tell how closely a user's question matches it."""
PREFETCH_FACTOR = 4
"""Each side of the hybrid search fetches this many times the final limit before fusion."""


def open_client(settings: Settings) -> QdrantClient:
    """The one place a Qdrant client is built."""
    if settings.qdrant_url:
        client = QdrantClient(url=settings.qdrant_url, api_key=settings.qdrant_api_key or None, timeout=10)
        try:
            client.get_collections()
        except (ResponseHandlingException, OSError) as error:
            raise StoreUnavailable(
                f"No Qdrant server answered at QDRANT_URL={settings.qdrant_url} ({error}). "
                "Start it, fix QDRANT_URL, or unset it to use the embedded store."
            ) from None
        return client
    settings.qdrant_path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(settings.qdrant_path))
    except RuntimeError as error:
        if "already accessed" not in str(error):
            raise
        raise StoreLocked(
            f"The embedded Qdrant store at {settings.qdrant_path} is open in another process "
            "(a running bot?). Stop that process, use the bot's admin `reindex` command, "
            "or run a Qdrant server and set QDRANT_URL."
        ) from None


@dataclass(frozen=True)
class IndexInfo:
    """What `status` shows, and what caches key on: the serving collection and its version."""

    collection: str
    version: str
    """Changes with every ingest that writes to the serving collection, and with every swap."""
    chunks: int
    documents: int
    last_ingest: str
    sources: list[str] = field(default_factory=list)
    previous: str | None = None
    """The collection `ingest rollback` would go back to."""


class Store:
    def __init__(self, client: QdrantClient, alias: str, *, server: bool = False) -> None:
        self.client = client
        self.alias = alias
        self.server = server
        """Against a Qdrant server (payload indexes matter there; local mode ignores them)."""

    @classmethod
    def open(cls, settings: Settings) -> Store:
        return cls(open_client(settings), settings.qdrant_collection, server=bool(settings.qdrant_url))

    def close(self) -> None:
        self.client.close()

    # --- collections -------------------------------------------------------------------

    def serving_collection(self) -> str | None:
        """The collection the alias points at, or None before the first ingest."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.alias:
                return alias.collection_name
        return None

    def create_collection(self, dimension: int) -> str:
        name = f"{self.alias}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000:06d}"
        self.client.create_collection(
            name,
            vectors_config={
                DENSE: qm.VectorParams(size=dimension, distance=qm.Distance.COSINE),
                QUESTION: qm.VectorParams(size=dimension, distance=qm.Distance.COSINE),
            },
            sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
        )
        if self.server:
            self.client.create_payload_index(name, "doc_id", qm.PayloadSchemaType.KEYWORD)
        return name

    def point_alias_at(self, collection: str) -> None:
        """Atomically make the alias serve `collection` (one request: delete + create)."""
        operations: list[qm.AliasOperations] = []
        if self.serving_collection() is not None:
            operations.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=self.alias)))
        operations.append(
            qm.CreateAliasOperation(create_alias=qm.CreateAlias(collection_name=collection, alias_name=self.alias))
        )
        self.client.update_collection_aliases(change_aliases_operations=operations)

    def builds(self) -> list[str]:
        """This alias's collections, oldest first (names carry their creation time)."""
        prefix = f"{self.alias}-"
        return sorted(c.name for c in self.client.get_collections().collections if c.name.startswith(prefix))

    def previous_collection(self) -> str | None:
        """The newest build that is not serving: where a rollback goes."""
        serving = self.serving_collection()
        older = [name for name in self.builds() if name != serving]
        return older[-1] if older else None

    def drop_collection(self, collection: str) -> None:
        self.client.delete_collection(collection)

    def drop_old_collections(self, keep: int) -> list[str]:
        """Delete all but the serving build and the newest others, `keep` in all."""
        serving = self.serving_collection()
        others = [name for name in self.builds() if name != serving]
        doomed = others[: max(0, len(others) - (keep - 1))]
        for name in doomed:
            self.drop_collection(name)
        return doomed

    def record_ingest(self, collection: str, sources: list[str]) -> None:
        """Stamp the collection with this ingest: what was read, when, and a new version."""
        meta = self._metadata(collection)
        self.client.update_collection(collection, metadata={
            "sources": sorted(set(meta.get("sources", [])) | set(sources)),
            "last_ingest": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "revision": int(meta.get("revision", 0)) + 1,
        })

    def info(self) -> IndexInfo | None:
        collection = self.serving_collection()
        if collection is None:
            return None
        meta = self._metadata(collection)
        documents = {chunk.doc_id for chunk in self.chunks(collection)}
        return IndexInfo(
            collection=collection, version=f"{collection}.{meta.get('revision', 0)}",
            chunks=self.client.count(collection, exact=True).count, documents=len(documents),
            last_ingest=meta.get("last_ingest", ""), sources=list(meta.get("sources", [])),
            previous=self.previous_collection(),
        )

    def _metadata(self, collection: str) -> dict:
        return dict(self.client.get_collection(collection).config.metadata or {})

    def ensure_serving_collection(self, dimension: int) -> str:
        """The serving collection, created (and aliased) on first use."""
        current = self.serving_collection()
        if current is not None:
            return current
        collection = self.create_collection(dimension)
        self.point_alias_at(collection)
        return collection

    # --- writing -----------------------------------------------------------------------

    def upsert(
        self,
        collection: str,
        chunks: Sequence[Chunk],
        dense: Sequence[Sequence[float]],
        sparse: Sequence[SparseVector],
        questions: Sequence[Sequence[float] | None],
    ) -> None:
        points = [
            qm.PointStruct(id=chunk.id, vector=_vectors(d, s, q), payload=chunk.payload())
            for chunk, d, s, q in zip(chunks, dense, sparse, questions, strict=True)
        ]
        if points:
            self.client.upsert(collection, points, wait=True)

    def delete_documents(self, collection: str, doc_ids: Iterable[str]) -> None:
        doc_ids = list(doc_ids)
        if doc_ids:
            selector = qm.Filter(must=[qm.FieldCondition(key="doc_id", match=qm.MatchAny(any=doc_ids))])
            self.client.delete(collection, points_selector=qm.FilterSelector(filter=selector), wait=True)

    def delete_points(self, collection: str, point_ids: Iterable[str]) -> None:
        point_ids = list(point_ids)
        if point_ids:
            self.client.delete(collection, points_selector=qm.PointIdsList(points=point_ids), wait=True)

    # --- reading -----------------------------------------------------------------------

    def count(self) -> int:
        collection = self.serving_collection()
        return 0 if collection is None else self.client.count(collection, exact=True).count

    def chunks(self, collection: str | None = None) -> Iterator[Chunk]:
        """Every chunk of a collection (the serving one by default), without vectors."""
        collection = collection or self.serving_collection()
        if collection is None:
            return
        offset = None
        while True:
            points, offset = self.client.scroll(collection, limit=256, offset=offset, with_payload=True)
            for point in points:
                yield Chunk.from_payload(str(point.id), point.payload or {})
            if offset is None:
                return

    def search(self, dense: Sequence[float], sparse: SparseVector, limit: int) -> list[Passage]:
        """Hybrid search: dense and sparse candidates fused by reciprocal rank (RRF).

        Each passage's `score` is its cosine similarity to the question, which, unlike an
        RRF score, says how relevant it is on an absolute scale.
        """
        prefetch = [qm.Prefetch(query=list(dense), using=DENSE, limit=limit * PREFETCH_FACTOR)]
        if sparse.indices:
            sparse_query = qm.SparseVector(indices=sparse.indices, values=sparse.values)
            prefetch.append(qm.Prefetch(query=sparse_query, using=SPARSE, limit=limit * PREFETCH_FACTOR))
        try:
            # Through the alias itself: Qdrant resolves it, so a query costs one round-trip,
            # and a rebuild that moves the alias is seen by the very next query.
            response = self.client.query_points(
                self.alias,
                prefetch=prefetch,
                query=qm.FusionQuery(fusion=qm.Fusion.RRF),
                limit=limit,
                with_payload=True,
                with_vectors=[DENSE, QUESTION],
            )
        except (ValueError, UnexpectedResponse) as error:
            if not _collection_missing(error):
                raise
            raise EmptyKnowledgeBase(f"No collection {self.alias!r} exists yet.") from None
        return [
            Passage(
                chunk=Chunk.from_payload(str(point.id), point.payload or {}),
                score=_dot(dense, point.vector[DENSE]),
                rank=rank,
                question_score=_dot(dense, point.vector[QUESTION]) if QUESTION in point.vector else None,
            )
            for rank, point in enumerate(response.points, start=1)
        ]


def _vectors(dense: Sequence[float], sparse: SparseVector, question: Sequence[float] | None) -> dict:
    vectors = {DENSE: list(dense), SPARSE: qm.SparseVector(indices=sparse.indices, values=sparse.values)}
    if question is not None:
        vectors[QUESTION] = list(question)
    return vectors


def _collection_missing(error: Exception) -> bool:
    """How each mode says a collection does not exist: local mode a ValueError, a server a 404."""
    if isinstance(error, UnexpectedResponse):
        return error.status_code == 404
    return "not found" in str(error)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b)))
