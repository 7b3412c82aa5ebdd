"""The synced sources' gauges on /metrics, read from their status in Redis at scrape time.

Not gauges a process sets: every worker reads the same status (ingest/sync/state.py), which the
worker that ran the sync wrote, and a source dropped from sources.yaml must disappear from the
scrape rather than linger in multiprocess files. So a collector, added to whichever registry a
scrape renders, asks `statuses()` each time (a Redis read per source).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Statuses = Callable[[], list[dict]]
"""Each source's status record: name, kind and the fields of ingest.sync.state.Status."""

CHANGES = ("added", "updated", "deleted", "unchanged")


class SyncCollector:
    """kb_sync_* gauges, one series per source (labels `source`, `kind`)."""

    def __init__(self, statuses: Statuses) -> None:
        self.statuses = statuses

    def describe(self) -> list:
        return []  # no values read at registration: Redis may not be up yet

    def collect(self) -> Iterator:
        from prometheus_client.core import GaugeMetricFamily  # only where a Metrics exists

        labels = ["source", "kind"]
        last_run = GaugeMetricFamily(
            "kb_sync_last_run_timestamp_seconds",
            "When the source's last sync ended (Unix time; 0 before the first).",
            labels=labels,
        )
        next_run = GaugeMetricFamily(
            "kb_sync_next_run_timestamp_seconds",
            "When the source's next sync is due (Unix time).",
            labels=labels,
        )
        duration = GaugeMetricFamily(
            "kb_sync_last_run_duration_seconds", "How long the last sync took.", labels=labels
        )
        documents = GaugeMetricFamily(
            "kb_sync_documents",
            "Documents the source's last sync added, updated, deleted or found unchanged.",
            labels=[*labels, "change"],
        )
        ok = GaugeMetricFamily(
            "kb_sync_ok",
            "1 when the source's last sync succeeded, else 0 (never run, failed, partial, needs --force).",
            labels=labels,
        )
        failures = GaugeMetricFamily(
            "kb_sync_failures",
            "Failed syncs of the source in a row (its schedule backs off by them).",
            labels=labels,
        )
        for status in self.statuses():
            source = [status["name"], status["kind"]]
            last_run.add_metric(source, status["last_run"])
            next_run.add_metric(source, status["next_run"])
            duration.add_metric(source, status["seconds"])
            for change in CHANGES:
                documents.add_metric([*source, change], status[change])
            ok.add_metric(source, float(status["result"] == "ok"))
            failures.add_metric(source, status["failures"])
        yield from (last_run, next_run, duration, documents, ok, failures)
