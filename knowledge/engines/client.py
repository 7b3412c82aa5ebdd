"""qdrant-client against a Qdrant server or cluster (QDRANT_URL): how to scale out.

Its local mode (a path instead of a URL) runs the same calls; the tests use it to check that
both engines answer alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowledge.access import INDEXED_FIELDS
from knowledge.engines.base import (
    DENSE,
    QUESTION,
    RRF_K,
    SCROLL_PAGE,
    SPARSE,
    Clauses,
    Hit,
    Vectors,
    dense_side,
    payload_filter,
    plain_vectors,
    settle_ties,
)
from knowledge.errors import EmptyKnowledgeBase, StoreLocked, StoreUnavailable
from knowledge.sparse import SparseVector


class ClientEngine:
    def __init__(self, client, *, server: bool) -> None:
        from qdrant_client import models

        self.client = client
        self._m = models
        self.server = server
        """Against a Qdrant server (payload indexes matter there; local mode ignores them)."""

    @classmethod
    def connect(cls, url: str, api_key: str = "") -> ClientEngine:
        from qdrant_client import QdrantClient
        from qdrant_client.http.exceptions import ResponseHandlingException

        client = QdrantClient(url=url, api_key=api_key or None, timeout=10)
        try:
            client.get_collections()
        except (ResponseHandlingException, OSError) as error:
            raise StoreUnavailable(
                f"No Qdrant server answered at QDRANT_URL={url} ({error}). "
                "Start it, fix QDRANT_URL, or unset it to use the embedded store."
            ) from None
        return cls(client, server=True)

    @classmethod
    def local(cls, path: Path) -> ClientEngine:
        """qdrant-client's own embedded mode: slower than Edge; kept to check the client path."""
        from qdrant_client import QdrantClient

        path.mkdir(parents=True, exist_ok=True)
        try:
            return cls(QdrantClient(path=str(path)), server=False)
        except RuntimeError as error:
            if "already accessed" not in str(error):
                raise
            raise StoreLocked(f"The Qdrant store at {path} is open in another process.") from None

    def collections(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def create(self, name: str, dimension: int) -> None:
        m = self._m
        self.client.create_collection(
            name,
            vectors_config={
                DENSE: m.VectorParams(size=dimension, distance=m.Distance.COSINE),
                QUESTION: m.VectorParams(size=dimension, distance=m.Distance.COSINE),
            },
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
        )
        self.ensure_indexes(name)

    def ensure_indexes(self, name: str) -> None:
        """Keyword indexes on the fields every query filters on (and doc_id)."""
        if not self.server:
            return  # local mode has no payload indexes
        present = set(self.client.get_collection(name).payload_schema or {})
        for key in ("doc_id", *INDEXED_FIELDS):
            if key not in present:
                self.client.create_payload_index(name, key, self._m.PayloadSchemaType.KEYWORD)

    def drop(self, name: str) -> None:
        self.client.delete_collection(name)

    def alias_target(self, alias: str) -> str | None:
        return next(
            (a.collection_name for a in self.client.get_aliases().aliases if a.alias_name == alias),
            None,
        )

    def set_alias(self, alias: str, collection: str) -> None:
        """One request (delete + create): Qdrant applies it atomically."""
        m = self._m
        operations: list = []
        if self.alias_target(alias) is not None:
            operations.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
        operations.append(
            m.CreateAliasOperation(
                create_alias=m.CreateAlias(collection_name=collection, alias_name=alias)
            )
        )
        self.client.update_collection_aliases(change_aliases_operations=operations)

    def metadata(self, name: str) -> dict:
        return dict(self.client.get_collection(name).config.metadata or {})

    def set_metadata(self, name: str, metadata: dict) -> None:
        self.client.update_collection(name, metadata=metadata)

    def _vector(self, value: Any):
        if isinstance(value, SparseVector):
            return self._m.SparseVector(indices=value.indices, values=value.values)
        return list(value)

    def upsert(self, name: str, points: list[tuple[str, Vectors, dict]]) -> None:
        structs = [
            self._m.PointStruct(
                id=point_id,
                vector={k: self._vector(v) for k, v in vectors.items()},
                payload=payload,
            )
            for point_id, vectors, payload in points
        ]
        self.client.upsert(name, structs, wait=True)

    def delete(self, name: str, point_ids: list[str]) -> None:
        self.client.delete(name, points_selector=self._m.PointIdsList(points=point_ids), wait=True)

    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[tuple[str, dict, Vectors]]:
        offset = None
        while True:
            points, offset = self.client.scroll(
                name, limit=SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=with_vectors
            )
            for point in points:
                yield str(point.id), dict(point.payload or {}), plain_vectors(point.vector)
            if offset is None:
                return

    def retrieve(self, name: str, point_ids: list[str]) -> dict[str, dict]:
        points = self.client.retrieve(name, point_ids, with_payload=True, with_vectors=False)
        return {str(p.id): dict(p.payload or {}) for p in points}

    def count(self, name: str) -> int:
        return self.client.count(name, exact=True).count

    def query(
        self,
        name: str,
        sides: list[tuple[str, Any]],
        limit: int,
        candidates: int,
        weights: list[float] | None = None,
        clauses: Clauses | None = None,
    ) -> list[Hit]:
        from qdrant_client.http.exceptions import UnexpectedResponse

        m = self._m
        only = payload_filter(self._m, clauses)
        if len(sides) == 1:
            [(using, vector)] = sides
            request: dict = {"query": self._vector(vector), "using": using}
        else:
            request = {
                "prefetch": [
                    m.Prefetch(query=self._vector(v), using=u, limit=candidates, filter=only)
                    for u, v in sides
                ],
                "query": m.RrfQuery(rrf=m.Rrf(k=RRF_K, weights=weights)),
            }
        try:
            points = settle_ties(
                lambda n: (
                    self.client.query_points(
                        name,
                        limit=n,
                        query_filter=only,
                        with_payload=True,
                        with_vectors=[DENSE, QUESTION],
                        **request,
                    ).points
                ),
                limit,
                dense_side(sides),
            )
        except (ValueError, UnexpectedResponse) as error:
            # How each mode says a collection does not exist: local mode a ValueError, a server a 404.
            if getattr(error, "status_code", None) == 404 or "not found" in str(error):
                raise EmptyKnowledgeBase(f"No collection {name!r} exists yet.") from None
            raise
        return [Hit(str(p.id), dict(p.payload or {}), plain_vectors(p.vector)) for p in points]

    def close(self) -> None:
        self.client.close()
