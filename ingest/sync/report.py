"""Each source's sync status in words (`ingest status`, `/kb status`) and as records (`--json`,
and /metrics through bot/ops/sync_metrics.py)."""

from __future__ import annotations

import time

from ingest.sync.config import Source
from ingest.sync.state import Status, SyncState


def statuses(sources: list[Source], state: SyncState) -> list[dict]:
    """One dict per source: its sources.yaml name and kind, and its Status fields."""
    return [
        {"name": s.name, "kind": s.kind, "owner": s.owner, **vars(state.status(s.name))}
        for s in sources
    ]


def describe(sources: list[Source], state: SyncState, *, at: float | None = None) -> list[str]:
    """`handbook (website): ok 2m ago, added 1, updated 1, deleted 1; next run in 58m` and, when the
    last run failed, the error on the next line: never a bare "scheduled"."""
    at = at or time.time()
    lines = []
    for source in sources:
        status = state.status(source.name)
        lines.append(f"{source.name} ({source.kind}): {line(status, at)}")
        if status.error:
            lines.append(f"  error: {status.error}")
        lines += [f"  not ingested: {s['item']}: {s['reason']}" for s in status.skipped[:5]]
        if len(status.skipped) > 5:
            lines.append(
                f"  ... and {len(status.skipped) - 5} more not ingested (`ingest status --json` lists all)"
            )
    return lines


def line(status: Status, at: float) -> str:
    if not status.last_run:
        return "never run; next run now"
    due = "now (overdue)" if status.next_run <= at else f"in {ago(status.next_run - at)}"
    retry = f" (after {status.failures} failed runs in a row)" if status.failures else ""
    return (
        f"{status.result} {ago(at - status.last_run)} ago ({'full' if status.full else 'incremental'}, "
        f"{status.requests} requests, {status.seconds:.1f}s): added {status.added}, updated {status.updated}, "
        f"deleted {status.deleted}, unchanged {status.unchanged}; next run {due}{retry}"
    )


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
