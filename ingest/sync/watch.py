"""Running each source on its schedule: `ingest sync --watch`, and a thread of `bot serve`.
One run at a time across every worker (a Redis lock); a failed source backs off (runner.backoff)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ingest.connectors import ConnectorError, connector_for
from ingest.pipeline import Pipeline
from ingest.settings import IngestSettings
from ingest.sync.config import Source
from ingest.sync.runner import could_not_start, sync_source
from ingest.sync.state import Status, SyncState, now

log = logging.getLogger(__name__)
TICK_S = 30.0
MIN_WAIT_S = 1.0


def due(sources: list[Source], state: SyncState, at: float) -> list[Source]:
    return [s for s in sources if state.status(s.name).next_run <= at]


def run_once(
    sources: list[Source],
    pipeline: Pipeline,
    state: SyncState,
    settings: IngestSettings,
    *,
    dry_run: bool = False,
    force: bool = False,
    full: bool = False,
    report: Callable[[Source, Status], None] = lambda s, st: None,
) -> dict[str, Status] | None:
    """Run `sources` one after another under the lock; None when another worker holds it."""
    with state.held_lock() as held:
        if not held:
            return None
        results = {}
        for source in sources:
            try:
                connector = connector_for(source, settings)
            except ConnectorError as error:
                results[source.name] = status = could_not_start(source, state, error)
                report(source, status)
                continue
            results[source.name] = status = sync_source(
                source,
                connector,
                pipeline,
                state,
                dry_run=dry_run,
                force=force,
                full=full,
                max_delete_share=settings.sync_max_delete_share,
            )
            report(source, status)
        return results


def watch(
    sources: list[Source],
    pipeline: Pipeline,
    state: SyncState,
    settings: IngestSettings,
    stop: threading.Event,
    tick: float = TICK_S,
    report: Callable[[Source, Status], None] = lambda s, st: None,
) -> None:
    """Until `stop` is set: run the sources that are due, then wait until the next one is (at most
    `tick`, so a run another worker made, which moves the next one, is seen)."""
    while not stop.is_set():
        wait = tick
        try:
            ready = due(sources, state, now())
            if ready:
                run_once(ready, pipeline, state, settings, report=report)
            wait = until_due(sources, state, now(), tick)
        except Exception:  # a bug in one run, or Redis away, must not end the schedule
            log.exception("sync run failed")
        stop.wait(wait)


def until_due(sources: list[Source], state: SyncState, at: float, tick: float) -> float:
    """Seconds until the soonest source is due, between MIN_WAIT_S (one overdue while another
    worker runs it) and `tick`."""
    soonest = min((state.status(s.name).next_run for s in sources), default=at + tick)
    return min(tick, max(soonest - at, MIN_WAIT_S))


def start_in_background(
    sources: list[Source],
    pipeline: Pipeline,
    state: SyncState,
    settings: IngestSettings,
) -> threading.Event:
    """For `bot serve --sync-sources`: the schedule in a daemon thread; set the event to stop it."""
    stop = threading.Event()
    threading.Thread(
        target=watch,
        args=(sources, pipeline, state, settings, stop),
        daemon=True,
        name="source-sync",
    ).start()
    return stop
