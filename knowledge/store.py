"""All Qdrant access lives here, so the engine behind it can change in one place.

Two engines with one small interface:
- `EdgeEngine` (default): Qdrant Edge (`qdrant-edge-py`), Qdrant's in-process engine, one
  shard directory per collection under QDRANT_PATH. Measured here on 10,000 points, a
  hybrid query took 0.5 ms with it against 29 ms (200 ms with the IDF modifier) in
  qdrant-client's local mode, and upserts 40x faster.
- `ClientEngine`: qdrant-client against a Qdrant server or cluster when QDRANT_URL is set
  (how to scale out). Its local mode (a path instead of a URL) runs the same calls, which
  the tests use to check that both engines answer alike.

The bot reads an alias (QDRANT_COLLECTION); each build of the index is a collection behind
it, so a rebuild can be swapped in atomically. Points carry named vectors: "dense" (MiniLM,
cosine), "question" (the chunk's heading: an FAQ row's question, a section's title and
headings) and "sparse" (BM25 term weights with Qdrant's IDF modifier). A search fuses them
with reciprocal rank fusion in the engine.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from knowledge.errors import EmptyKnowledgeBase, StoreLocked, StoreUnavailable
from knowledge.models import Chunk, Passage
from knowledge.settings import Settings
from knowledge.sparse import SparseVector

DENSE = "dense"
SPARSE = "sparse"
QUESTION = "question"
"""What a chunk is about, alone: an FAQ row's question, or a section's title and headings.
(It keeps the name it had when only FAQ rows carried it: collections are created with it.)"""
Mode = Literal["hybrid", "dense", "sparse"]
PREFETCH_FACTOR = 4
"""Each side of the hybrid search fetches this many times the final limit before fusion."""
RRF_K = 2
"""Reciprocal rank fusion's k, as qdrant-client's local mode uses; a server's default is 60.
Set explicitly so both engines rank alike (k=2 also scored best on the calibration half)."""
SCROLL_PAGE = 512

Vectors = dict[str, Any]
"""Vector name -> a list of floats (dense) or a SparseVector."""


@dataclass(frozen=True)
class Hit:
    id: str
    payload: dict[str, Any]
    vectors: dict[str, list[float]]


class Engine(Protocol):
    """What the Store needs from a Qdrant engine; `name` may be a collection or an alias."""

    def collections(self) -> list[str]: ...
    def create(self, name: str, dimension: int) -> None: ...
    def drop(self, name: str) -> None: ...
    def alias_target(self, alias: str) -> str | None: ...
    def set_alias(self, alias: str, collection: str) -> None: ...
    def metadata(self, name: str) -> dict: ...
    def set_metadata(self, name: str, metadata: dict) -> None: ...
    def upsert(self, name: str, points: list[tuple[str, Vectors, dict]]) -> None: ...
    def delete(self, name: str, point_ids: list[str]) -> None: ...
    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[tuple[str, dict, Vectors]]: ...
    def retrieve(self, name: str, point_ids: list[str]) -> dict[str, dict]: ...
    def count(self, name: str) -> int: ...
    def query(self, name: str, sides: list[tuple[str, Any]], limit: int, candidates: int) -> list[Hit]: ...
    def close(self) -> None: ...


# --- Qdrant Edge (embedded) ----------------------------------------------------------------

class EdgeEngine:
    """Collections are Edge shards in `root/collections/NAME`; aliases and metadata are small
    JSON files replaced atomically. One process owns the directory (an flock on `root/.lock`)."""

    def __init__(self, root: Path) -> None:
        import qdrant_edge

        self._q = qdrant_edge
        self.root = root
        (root / "collections").mkdir(parents=True, exist_ok=True)
        self._lock = open(root / ".lock", "w")  # noqa: SIM115 (held for the engine's life)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StoreLocked(
                f"The embedded Qdrant store at {root} is open in another process (a running bot?). "
                "Stop that process, use the bot's admin `reindex` command, or run a Qdrant server and set QDRANT_URL."
            ) from None
        self._shards: dict[str, Any] = {}
        self._aliases: dict[str, str] = self._read_json(root / "aliases.json")
        """Read once: no other process can change them while we hold the lock."""

    def _dir(self, name: str) -> Path:
        return self.root / "collections" / name

    def _shard(self, name: str):
        name = self.alias_target(name) or name
        if name not in self._shards:
            if not self._dir(name).is_dir():
                raise EmptyKnowledgeBase(f"No collection {name!r} exists yet.")
            self._shards[name] = self._q.EdgeShard.load(str(self._dir(name)))
        return self._shards[name]

    def collections(self) -> list[str]:
        return sorted(p.name for p in (self.root / "collections").iterdir() if p.is_dir())

    def create(self, name: str, dimension: int) -> None:
        q = self._q
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=dimension, distance=q.Distance.Cosine),
                     QUESTION: q.EdgeVectorParams(size=dimension, distance=q.Distance.Cosine)},
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        self._dir(name).mkdir(parents=True)
        self._shards[name] = q.EdgeShard.create(str(self._dir(name)), config)

    def drop(self, name: str) -> None:
        shard = self._shards.pop(name, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self._dir(name), ignore_errors=True)

    @staticmethod
    def _read_json(path: Path) -> dict:
        return json.loads(path.read_text()) if path.exists() else {}

    @staticmethod
    def _write_json(path: Path, data: dict) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False))
        os.replace(temporary, path)  # atomic: a reader sees the old file or the new one

    def alias_target(self, alias: str) -> str | None:
        return self._aliases.get(alias)

    def set_alias(self, alias: str, collection: str) -> None:
        aliases = {**self._aliases, alias: collection}
        self._write_json(self.root / "aliases.json", aliases)
        self._aliases = aliases

    def metadata(self, name: str) -> dict:
        return self._read_json(self._dir(name) / "kb-metadata.json")

    def set_metadata(self, name: str, metadata: dict) -> None:
        self._write_json(self._dir(name) / "kb-metadata.json", metadata)

    def upsert(self, name: str, points: list[tuple[str, Vectors, dict]]) -> None:
        q = self._q
        edge_points = [q.Point(point_id, {k: self._vector(v) for k, v in vectors.items()}, payload)
                       for point_id, vectors, payload in points]
        shard = self._shard(name)
        shard.update(q.UpdateOperation.upsert_points(edge_points))
        shard.flush()

    def _vector(self, value: Any):
        if isinstance(value, SparseVector):
            return self._q.SparseVector(indices=value.indices, values=value.values)
        return list(value)

    def delete(self, name: str, point_ids: list[str]) -> None:
        shard = self._shard(name)
        shard.update(self._q.UpdateOperation.delete_points(point_ids))
        shard.flush()

    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[tuple[str, dict, Vectors]]:
        shard, offset = self._shard(name), None
        while True:
            records, offset = shard.scroll(self._q.ScrollRequest(
                offset=offset, limit=SCROLL_PAGE, with_payload=True, with_vector=with_vectors))
            for record in records:
                yield str(record.id), dict(record.payload or {}), _plain_vectors(record.vector)
            if offset is None:
                return

    def retrieve(self, name: str, point_ids: list[str]) -> dict[str, dict]:
        """Point id -> payload, for the ids that exist."""
        return {str(r.id): dict(r.payload or {})
                for r in self._shard(name).retrieve(point_ids, with_payload=True, with_vector=False)}

    def count(self, name: str) -> int:
        return self._shard(name).count(self._q.CountRequest(exact=True))

    def query(self, name: str, sides: list[tuple[str, Any]], limit: int, candidates: int) -> list[Hit]:
        q = self._q
        nearest = [q.Query.Nearest(self._vector(vector), using=using) for using, vector in sides]
        if len(nearest) == 1:
            request = q.QueryRequest(limit=limit, query=nearest[0], with_payload=True, with_vector=[DENSE, QUESTION])
        else:
            request = q.QueryRequest(limit=limit, prefetches=[q.Prefetch(limit=candidates, query=n) for n in nearest],
                                     query=q.Fusion.Rrf(k=RRF_K), with_payload=True, with_vector=[DENSE, QUESTION])
        return [Hit(str(p.id), dict(p.payload or {}), _plain_vectors(p.vector)) for p in self._shard(name).query(request)]

    def close(self) -> None:
        for shard in self._shards.values():
            shard.close()
        self._shards.clear()
        self._lock.close()


# --- qdrant-client (a server, or its local mode) ---------------------------------------------

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
            vectors_config={DENSE: m.VectorParams(size=dimension, distance=m.Distance.COSINE),
                            QUESTION: m.VectorParams(size=dimension, distance=m.Distance.COSINE)},
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
        )
        if self.server:
            self.client.create_payload_index(name, "doc_id", m.PayloadSchemaType.KEYWORD)

    def drop(self, name: str) -> None:
        self.client.delete_collection(name)

    def alias_target(self, alias: str) -> str | None:
        return next((a.collection_name for a in self.client.get_aliases().aliases if a.alias_name == alias), None)

    def set_alias(self, alias: str, collection: str) -> None:
        """One request (delete + create): Qdrant applies it atomically."""
        m = self._m
        operations: list = []
        if self.alias_target(alias) is not None:
            operations.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
        operations.append(m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=collection, alias_name=alias)))
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
        structs = [self._m.PointStruct(id=point_id, vector={k: self._vector(v) for k, v in vectors.items()},
                                       payload=payload) for point_id, vectors, payload in points]
        self.client.upsert(name, structs, wait=True)

    def delete(self, name: str, point_ids: list[str]) -> None:
        self.client.delete(name, points_selector=self._m.PointIdsList(points=point_ids), wait=True)

    def scroll(self, name: str, with_vectors: bool = False) -> Iterator[tuple[str, dict, Vectors]]:
        offset = None
        while True:
            points, offset = self.client.scroll(name, limit=SCROLL_PAGE, offset=offset, with_payload=True,
                                                with_vectors=with_vectors)
            for point in points:
                yield str(point.id), dict(point.payload or {}), _plain_vectors(point.vector)
            if offset is None:
                return

    def retrieve(self, name: str, point_ids: list[str]) -> dict[str, dict]:
        points = self.client.retrieve(name, point_ids, with_payload=True, with_vectors=False)
        return {str(p.id): dict(p.payload or {}) for p in points}

    def count(self, name: str) -> int:
        return self.client.count(name, exact=True).count

    def query(self, name: str, sides: list[tuple[str, Any]], limit: int, candidates: int) -> list[Hit]:
        from qdrant_client.http.exceptions import UnexpectedResponse

        m = self._m
        if len(sides) == 1:
            [(using, vector)] = sides
            request: dict = {"query": self._vector(vector), "using": using}
        else:
            request = {"prefetch": [m.Prefetch(query=self._vector(v), using=u, limit=candidates) for u, v in sides],
                       "query": m.RrfQuery(rrf=m.Rrf(k=RRF_K))}
        try:
            response = self.client.query_points(name, limit=limit, with_payload=True, with_vectors=[DENSE, QUESTION],
                                                **request)
        except (ValueError, UnexpectedResponse) as error:
            # How each mode says a collection does not exist: local mode a ValueError, a server a 404.
            if getattr(error, "status_code", None) == 404 or "not found" in str(error):
                raise EmptyKnowledgeBase(f"No collection {name!r} exists yet.") from None
            raise
        return [Hit(str(p.id), dict(p.payload or {}), _plain_vectors(p.vector)) for p in response.points]

    def close(self) -> None:
        self.client.close()


def _plain_vectors(vectors: Any) -> Vectors:
    return {name: list(v) for name, v in (vectors or {}).items() if isinstance(v, (list, tuple))}


def open_engine(settings: Settings) -> Engine:
    """The one place an engine is built: a server when QDRANT_URL is set, else Qdrant Edge."""
    if settings.qdrant_url:
        return ClientEngine.connect(settings.qdrant_url, settings.qdrant_api_key)
    return EdgeEngine(settings.qdrant_path)


# --- the store -------------------------------------------------------------------------------

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


class Store:
    def __init__(self, engine: Engine, alias: str) -> None:
        self.engine = engine
        self.alias = alias

    @classmethod
    def open(cls, settings: Settings) -> Store:
        return cls(open_engine(settings), settings.qdrant_collection)

    def close(self) -> None:
        self.engine.close()

    # --- collections -------------------------------------------------------------------

    def serving_collection(self) -> str | None:
        """The collection the alias points at, or None before the first ingest."""
        return self.engine.alias_target(self.alias)

    def create_collection(self, dimension: int) -> str:
        now = time.time_ns()  # one reading, so that names sort in creation order
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now // 1_000_000_000))
        name = f"{self.alias}-{stamp}-{now // 1000 % 1_000_000:06d}"
        self.engine.create(name, dimension)
        return name

    def point_alias_at(self, collection: str) -> None:
        """Atomically make the alias serve `collection`."""
        self.engine.set_alias(self.alias, collection)

    def ensure_serving_collection(self, dimension: int) -> str:
        """The serving collection, created (and aliased) on first use."""
        current = self.serving_collection()
        if current is not None:
            return current
        collection = self.create_collection(dimension)
        self.point_alias_at(collection)
        return collection

    def builds(self) -> list[str]:
        """This alias's collections, oldest first (names carry their creation time)."""
        return [name for name in self.engine.collections() if name.startswith(f"{self.alias}-")]

    def previous_collection(self) -> str | None:
        """The newest build that is not serving: where a rollback goes."""
        serving = self.serving_collection()
        older = [name for name in self.builds() if name != serving]
        return older[-1] if older else None

    def drop_collection(self, collection: str) -> None:
        self.engine.drop(collection)

    def drop_old_collections(self, keep: int) -> list[str]:
        """Delete all but the serving build and the newest others, `keep` in all."""
        serving = self.serving_collection()
        others = [name for name in self.builds() if name != serving]
        doomed = others[: max(0, len(others) - (keep - 1))]
        for name in doomed:
            self.drop_collection(name)
        return doomed

    def record_ingest(self, collection: str, sources: list[str]) -> None:
        """Stamp the collection with this ingest: what was read, when, and a new revision."""
        meta = self.engine.metadata(collection)
        self.engine.set_metadata(collection, {
            "sources": sorted(set(meta.get("sources", [])) | set(sources)),
            "last_ingest": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "revision": int(meta.get("revision", 0)) + 1,
        })

    def version(self) -> str:
        """Serving collection and revision: changes whenever what the bot reads changes."""
        collection = self.serving_collection()
        if collection is None:
            return ""
        return f"{collection}.{self.engine.metadata(collection).get('revision', 0)}"

    def info(self) -> IndexInfo | None:
        collection = self.serving_collection()
        if collection is None:
            return None
        meta = self.engine.metadata(collection)
        return IndexInfo(
            collection=collection, version=self.version(), chunks=self.engine.count(collection),
            documents=len({chunk.doc_id for chunk in self.chunks(collection)}),
            last_ingest=meta.get("last_ingest", ""), sources=list(meta.get("sources", [])),
            previous=self.previous_collection(),
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

    def content_hashes(self, chunk_ids: list[str]) -> dict[str, str]:
        """Chunk id -> its document's content hash, for the chunks the serving collection holds."""
        if not chunk_ids or self.serving_collection() is None:
            return {}
        return {point_id: payload.get("content_hash", "")
                for point_id, payload in self.engine.retrieve(self.alias, chunk_ids).items()}

    def chunks(self, collection: str | None = None) -> Iterator[Chunk]:
        """Every chunk of a collection (the serving one by default), without vectors."""
        collection = collection or self.serving_collection()
        if collection is None:
            return
        for point_id, payload, _ in self.engine.scroll(collection):
            yield Chunk.from_payload(point_id, payload)

    def search(self, dense: Sequence[float], sparse: SparseVector, limit: int, mode: Mode = "hybrid",
               headings: bool = True) -> list[Passage]:
        """Hybrid search: candidates by meaning (the chunk's text, and its heading alone: an
        FAQ row's question, a section's title and headings) and by keywords (BM25), fused by
        reciprocal rank inside the engine. `mode` "dense" or "sparse" asks one side alone (for
        `bot eval retrieval`). `headings` False leaves out the heading side, which suits a
        standalone question only.

        Each passage's `score` is its cosine similarity to the question, which, unlike an
        RRF score, says how relevant it is on an absolute scale.
        """
        sides: list[tuple[str, Any]] = []
        if mode in ("hybrid", "dense"):
            sides.append((DENSE, list(dense)))
        if mode == "hybrid" and headings:
            sides.append((QUESTION, list(dense)))
        if mode in ("hybrid", "sparse") and sparse.indices:
            sides.append((SPARSE, sparse))
        if not sides:
            return []
        if self.serving_collection() is None:
            raise EmptyKnowledgeBase(f"No collection {self.alias!r} exists yet.")
        # Through the alias: a rebuild that moves it is seen by the very next query.
        hits = self.engine.query(self.alias, sides, limit, limit * PREFETCH_FACTOR)
        return [
            Passage(
                chunk=Chunk.from_payload(hit.id, hit.payload),
                score=_dot(dense, hit.vectors[DENSE]),
                rank=rank,
                question_score=_dot(dense, hit.vectors[QUESTION])
                if QUESTION in hit.vectors and hit.payload.get("kind") == "faq" else None,
            )
            for rank, hit in enumerate(hits, start=1)
        ]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b)))
