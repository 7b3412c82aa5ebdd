"""`/kb reindex`: the zero-downtime rebuild of `ingest --rebuild`, run in a background thread of
the serving process (which holds the embedded store), one at a time across workers (a Redis
lock). Progress and the final summary go to `notify`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import redis

from bot.deps import Deps
from ingest.errors import IngestError
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

REINDEX_LOCK_TTL_S = 6 * 3600
"""A crashed worker's lock expires by itself; no rebuild takes this long."""
PROGRESS_STEPS = (0.25, 0.5, 0.75)
Notify = Callable[[str], None]


class Reindexer:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.thread: threading.Thread | None = None

    @property
    def _lock(self) -> str:
        return f"{self.deps.settings.redis_prefix}reindex:lock"

    def start(self, user: str, notify: Notify) -> str:
        from ingest.reindex import (
            sources_to_reindex,  # the pipeline and its loaders, only when asked
        )

        sources = sources_to_reindex(self.deps.settings.ingest, self.deps.store)
        missing = [str(p) for p in sources if not p.exists()]
        if not sources or missing:
            return (
                f"I cannot reindex: {'these sources are missing: ' + ', '.join(missing) if missing else 'no sources are known'}. "
                "Set KB_SOURCES to the folders to read, or run `ingest PATH...` once."
            )
        try:
            holder = self.deps.redis.get(self._lock)
            claimed = not holder and self.deps.redis.set(
                self._lock, user, nx=True, ex=REINDEX_LOCK_TTL_S
            )
        except (
            redis.RedisError
        ) as error:  # the lock is what keeps two workers from rebuilding at once
            log.warning("reindex refused, Redis unavailable: %s", error)
            return (
                "I cannot reindex while Redis is unreachable: it is how workers agree that only one "
                "rebuilds. The current index keeps serving; ask again once Redis is back."
            )
        if not claimed:
            return f"A reindex is already running (started by <@{holder or 'someone'}>); I will not start another."
        self.thread = threading.Thread(
            target=self._run, args=(sources, notify), name="reindex", daemon=True
        )
        self.thread.start()
        return f"Reindex started from {', '.join(map(str, sources))}. The current index keeps serving until it is done."

    def _run(self, sources: list[Path], notify: Notify) -> None:
        from ingest.reindex import reindex  # the pipeline and its loaders, only when asked
        from knowledge.embeddings import SERVING_BATCH

        steps = list(PROGRESS_STEPS)

        def progress(done: int, total: int) -> None:
            while steps and done >= steps[0] * total:
                notify(f"Reindex: {int(steps.pop(0) * 100)}% ({done} of {total} chunks embedded)")

        try:
            tables = self.deps.table_answers.tables if self.deps.table_answers else None
            # Small batches, as a sync in this process: questions keep being answered meanwhile.
            embedder = self.deps.embedder.batched(SERVING_BATCH)
            summary = reindex(self.deps.store, embedder, sources, progress=progress, tables=tables)
            self.deps.telemetry.ingested(summary.chunks_written)
            notify(f"Reindex finished: {summary.describe()}")
            log.info("reindex finished: %s", summary.as_dict())
        except (IngestError, KnowledgeError) as error:  # ours: the message says what to fix
            log.exception("reindex failed")
            notify(f"Reindex failed: {error}. The previous index keeps serving.")
        except (
            Exception
        ) as error:  # the thread's last word: the admin hears of it, the log has the details
            log.exception("reindex failed")
            notify(
                f"Reindex failed on an unexpected {type(error).__name__}; the server's log has the details. "
                "The previous index keeps serving."
            )
        finally:
            try:
                self.deps.redis.delete(self._lock)
            except redis.RedisError as error:  # it expires by itself (REINDEX_LOCK_TTL_S)
                log.warning("could not release the reindex lock: %s", error)
