"""The builds behind the alias: each ingest --rebuild writes a new collection, named for the
moment it was created, and the alias is pointed at it in one step; older builds stay for a
rollback until dropped. A base of `Store` (knowledge/store.py), which owns the engine."""

from __future__ import annotations

import time

from knowledge.engines import Engine


class CollectionBuilds:
    """Creating, listing, swapping and dropping the collections behind `alias`."""

    engine: Engine
    alias: str
    _changes: int
    """Swaps and ingests this Store made; a change tells Store.serving() its cached read is stale."""

    def serving_collection(self) -> str | None:
        """The collection the alias points at, or None before the first ingest."""
        return self.engine.alias_target(self.alias)

    def create_collection(self, dimension: int, model: str) -> str:
        """A new build for vectors of `model` (recorded: the index is never searched with another's)."""
        now = time.time_ns()  # one reading, so that names sort in creation order
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now // 1_000_000_000))
        name = f"{self.alias}-{stamp}-{now // 1000 % 1_000_000:06d}"
        self.engine.create(name, dimension)
        self.engine.set_metadata(name, {"embedding_model": model})
        return name

    def point_alias_at(self, collection: str) -> None:
        """Atomically make the alias serve `collection`."""
        self.engine.set_alias(self.alias, collection)
        self._changes += 1

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
        self._changes += 1

    def drop_old_collections(self, keep: int) -> list[str]:
        """Delete all but the serving build and the newest others, `keep` in all."""
        serving = self.serving_collection()
        others = [name for name in self.builds() if name != serving]
        doomed = others[: max(0, len(others) - (keep - 1))]
        for name in doomed:
            self.drop_collection(name)
        return doomed
