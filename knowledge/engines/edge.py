"""Qdrant Edge (`qdrant-edge-py`), Qdrant's in-process engine: the default, embedded engine.

Measured here on 10,000 points, a hybrid query took 0.5 ms with it against 29 ms (200 ms with
the IDF modifier) in qdrant-client's local mode, and upserts 40x faster.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
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
from knowledge.errors import EmptyKnowledgeBase, StoreCorrupt, StoreLocked
from knowledge.sparse import SparseVector


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
        self._loading = threading.Lock()
        self._aliases: dict[str, str] = self._read_json(root / "aliases.json")
        """Read once: no other process can change them while we hold the lock."""
        self._metadata: dict[str, dict] = {}
        """Each collection's metadata, read once for the same reason: every turn asks for the
        index's version and audiences, and reading and parsing the file each time cost a turn
        more than the Qdrant query did."""

    def _dir(self, name: str) -> Path:
        return self.root / "collections" / name

    def _shard(self, name: str):
        name = self.alias_target(name) or name
        if name in self._shards:
            return self._shards[name]
        # Loaded once: two threads loading the same shard at once (the first questions of a
        # busy worker) would both open its WAL, and the second would fail to lock it.
        with self._loading:
            return self._loaded(name)

    def _loaded(self, name: str):
        if name not in self._shards:
            if not self._dir(name).is_dir():
                raise EmptyKnowledgeBase(f"No collection {name!r} exists yet.")
            try:
                self._shards[name] = self._q.EdgeShard.load(str(self._dir(name)))
            except Exception as error:  # qdrant_edge raises a bare Exception for a damaged shard
                others = [c for c in self.collections() if c != name]
                hint = (
                    f"`ingest rollback` serves the previous build ({others[-1]})"
                    if others
                    else "`ingest --rebuild PATH...` builds it again"
                )
                raise StoreCorrupt(
                    f"The collection {name} at {self._dir(name)} cannot be read ({error}). "
                    f"{hint}; nothing else was changed."
                ) from None
        return self._shards[name]

    def collections(self) -> list[str]:
        return sorted(p.name for p in (self.root / "collections").iterdir() if p.is_dir())

    def create(self, name: str, dimension: int) -> None:
        q = self._q
        config = q.EdgeConfig(
            vectors={
                DENSE: q.EdgeVectorParams(size=dimension, distance=q.Distance.Cosine),
                QUESTION: q.EdgeVectorParams(size=dimension, distance=q.Distance.Cosine),
            },
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
        )
        self._dir(name).mkdir(parents=True)
        self._shards[name] = q.EdgeShard.create(str(self._dir(name)), config)
        self.ensure_indexes(name)

    def ensure_indexes(self, name: str) -> None:
        """Keyword indexes on the fields every query filters on (collections built before them get them too)."""
        shard = self._shard(name)
        present = set(shard.info().payload_schema)
        for key in INDEXED_FIELDS:
            if key not in present:
                shard.update(
                    self._q.UpdateOperation.create_field_index(
                        key, self._q.PayloadSchemaType.Keyword
                    )
                )
        shard.flush()

    def drop(self, name: str) -> None:
        # Under the loading lock: a thread loading this shard meanwhile would open the files
        # being removed, and keep a shard of a collection that no longer exists.
        with self._loading:
            shard = self._shards.pop(name, None)
            if shard is not None:
                shard.close()
            shutil.rmtree(self._dir(name), ignore_errors=True)
            self._metadata.pop(name, None)

    @staticmethod
    def _read_json(path: Path) -> dict:
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise StoreCorrupt(
                f"{path} cannot be read ({error}). It is written whole or not at all, so it was "
                "changed by hand or by the disk: restore it from a backup, or delete it and run "
                "`ingest --rebuild PATH...`."
            ) from None
        if not isinstance(data, dict):
            raise StoreCorrupt(
                f"{path} holds {type(data).__name__}, not an object; restore it or delete it and "
                "run `ingest --rebuild PATH...`."
            )
        return data

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
        if name not in self._metadata:
            self._metadata[name] = self._read_json(self._dir(name) / "kb-metadata.json")
        return json.loads(json.dumps(self._metadata[name]))  # a copy: callers may change theirs

    def set_metadata(self, name: str, metadata: dict) -> None:
        self._write_json(self._dir(name) / "kb-metadata.json", metadata)
        self._metadata[name] = json.loads(json.dumps(metadata))

    def upsert(self, name: str, points: list[tuple[str, Vectors, dict]]) -> None:
        q = self._q
        edge_points = [
            q.Point(point_id, {k: self._vector(v) for k, v in vectors.items()}, payload)
            for point_id, vectors, payload in points
        ]
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
            records, offset = shard.scroll(
                self._q.ScrollRequest(
                    offset=offset, limit=SCROLL_PAGE, with_payload=True, with_vector=with_vectors
                )
            )
            for record in records:
                yield str(record.id), dict(record.payload or {}), plain_vectors(record.vector)
            if offset is None:
                return

    def retrieve(self, name: str, point_ids: list[str]) -> dict[str, dict]:
        """Point id -> payload, for the ids that exist."""
        return {
            str(r.id): dict(r.payload or {})
            for r in self._shard(name).retrieve(point_ids, with_payload=True, with_vector=False)
        }

    def count(self, name: str) -> int:
        return self._shard(name).count(self._q.CountRequest(exact=True))

    def query(
        self,
        name: str,
        sides: list[tuple[str, Any]],
        limit: int,
        candidates: int,
        weights: list[float] | None = None,
        clauses: Clauses | None = None,
    ) -> list[Hit]:
        q = self._q
        only = payload_filter(self._q, clauses)
        nearest = [q.Query.Nearest(self._vector(vector), using=using) for using, vector in sides]
        if len(nearest) == 1:
            ask = {"query": nearest[0]}
        else:
            ask = {
                "prefetches": [q.Prefetch(limit=candidates, query=n, filter=only) for n in nearest],
                "query": q.Fusion.Rrf(k=RRF_K, weights=weights),
            }
        shard = self._shard(name)
        points = settle_ties(
            lambda n: shard.query(
                q.QueryRequest(
                    limit=n, filter=only, with_payload=True, with_vector=[DENSE, QUESTION], **ask
                )
            ),
            limit,
            dense_side(sides),
        )
        return [Hit(str(p.id), dict(p.payload or {}), plain_vectors(p.vector)) for p in points]

    def close(self) -> None:
        for shard in self._shards.values():
            shard.close()
        self._shards.clear()
        self._lock.close()
