"""Prometheus metrics. Their names and labels are a contract: dashboards and alerts read them.

Several worker processes (gunicorn on `bot.web.app:wsgi_from_env()`) report one view through
prometheus-client's multiprocess mode: with PROMETHEUS_MULTIPROC_DIR set, each process writes
its values to memory-mapped files in that directory, and a scrape of any worker sums them.
Without it, the one process keeps them in memory. Only the serving edges build a `Metrics`
(`bot serve`, the WSGI app): `bot ask` never imports prometheus-client.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import BotError
from bot.ops.sync_metrics import Statuses, SyncCollector

if TYPE_CHECKING:
    from knowledge.store import Store

LATENCY_STAGES = ("guard", "retrieve", "generate", "validate", "total")
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class Metrics:
    def __init__(self, multiproc_dir: Path | None = None, synced: Statuses | None = None) -> None:
        """`synced`: the synced sources' status records, read at each scrape (kb_sync_*)."""
        if multiproc_dir is not None:
            # prometheus-client reads this when it is first imported; from .env it would be too late.
            multiproc_dir.mkdir(parents=True, exist_ok=True)
            os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(multiproc_dir))
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

        if multiproc_dir is not None and values.ValueClass.__name__ != "MmapedValue":
            raise BotError(
                f"PROMETHEUS_MULTIPROC_DIR={multiproc_dir} was set after prometheus-client started "
                "counting in memory; set it in the process environment before the bot starts."
            )
        self.multiproc_dir = multiproc_dir
        self.registry = registry = CollectorRegistry()
        self.answers = Counter(
            "kb_answers_total",
            "Answers given, by how they were made.",
            ["mode", "refused", "reason", "variant"],
            registry=registry,
        )
        self.latency = Histogram(
            "kb_answer_latency_seconds",
            "Time spent per answer in each stage (generate and validate: per model call).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.llm_tokens = Counter(
            "kb_llm_tokens_total",
            "Tokens sent to and received from each model tier.",
            ["tier", "kind"],
            registry=registry,
        )
        self.llm_cost = Counter(
            "kb_llm_cost_usd_total",
            "What the model calls of each tier cost, in USD.",
            ["tier"],
            registry=registry,
        )
        self.cache_hits = Counter(
            "kb_cache_hits_total",
            "Answers served from the answer cache.",
            ["kind"],
            registry=registry,
        )
        self.guard_blocks = Counter(
            "kb_guard_blocks_total",
            "Questions (and retrieved passages) the input guard stopped, by reason.",
            ["reason"],
            registry=registry,
        )
        self.feedback = Counter(
            "kb_feedback_total", "Ratings of answers.", ["rating", "variant"], registry=registry
        )
        self.http_requests = Counter(
            "kb_http_requests_total",
            "Requests to the HTTP API (/v1/...), by route and status.",
            ["route", "status"],
            registry=registry,
        )
        self.ingest_chunks = Counter(
            "kb_ingest_chunks_total",
            "Chunks written by ingests this service ran (/kb reindex).",
            registry=registry,
        )
        self.index_documents = Gauge(
            "kb_index_documents",
            "Documents in the serving index.",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.verified_answers = Counter(
            "kb_verified_answers_total",
            "Questions answered by a verified answer.",
            ["kind"],
            registry=registry,
        )
        self.escalations = Counter(
            "kb_escalations_total", "Questions sent to experts (Ask an expert).", registry=registry
        )
        self.review_queue = Gauge(
            "kb_review_queue",
            "Escalations and drafts waiting for review.",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.sync = SyncCollector(synced) if synced is not None else None
        if self.sync is not None and multiproc_dir is None:
            registry.register(self.sync)
        self._index_version = ""
        self._lock = threading.Lock()

    def render(self, store: Store | None = None) -> tuple[bytes, str]:
        """The exposition text and its content type; with `store`, kb_index_documents is brought
        up to date first (counted again only when the index version has changed)."""
        from prometheus_client import CONTENT_TYPE_LATEST  # imported once a Metrics exists (above)

        if store is not None:
            self._refresh_index(store)
        if self.multiproc_dir is None:
            from prometheus_client import generate_latest  # as above

            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        return render_multiprocess(self.multiproc_dir, self.sync), CONTENT_TYPE_LATEST

    def _refresh_index(self, store: Store) -> None:
        with self._lock:
            version = store.version()
            if version != self._index_version:
                info = store.info() if version else None
                self.index_documents.set(info.documents if info else 0)
                self._index_version = version


def render_multiprocess(directory: Path, sync: SyncCollector | None = None) -> bytes:
    """What every process that wrote to `directory` counted, summed: one scrape, one view; and
    the synced sources as Redis has them now."""
    # Only once a Metrics exists: prometheus-client must not be imported before the variable is set.
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    if sync is not None:
        registry.register(sync)
    return generate_latest(registry)


def start_server(metrics: Metrics, port: int, store: Store | None = None):
    """/metrics on its own port (Socket Mode has no HTTP server of ours); returns the server."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server  # Socket Mode's metrics only

    class Quiet(WSGIRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
            pass

    def application(environ, start_response):
        if environ.get("PATH_INFO") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"metrics are at /metrics\n"]
        body, content_type = metrics.render(store)
        start_response("200 OK", [("Content-Type", content_type)])
        return [body]

    server = make_server("0.0.0.0", port, application, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
