"""Traces with the OpenTelemetry SDK: one trace per turn, a span per step of the chain.

A turn's id is its trace id (32 hex digits), so one id finds a turn in Redis, in `bot trace`
and in a collector. Spans leave through BatchSpanProcessors, so no turn waits for an exporter:

- Redis, always (unless TRACE_KEEP=0): each turn's spans under `{prefix}trace:{turn}` for
  TRACE_RETENTION_S, indexed by time in `{prefix}traces` and cut to the newest TRACE_KEEP
  turns. `bot trace TURN_ID` and `/kb why TURN_ID` read them back (bot/ops/traceview.py).
- OTLP over HTTP/protobuf when OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-only
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: to an OpenTelemetry Collector, Jaeger, Tempo...
  A slow or dead collector costs dropped spans (a bounded queue), never a slower answer.
  The collector is outside the knowledge base's access control, so spans reach it without the
  attributes that may carry a user's or a passage's words (CONTENT) unless OTEL_EXPORT_CONTENT.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import redis
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status

from bot.settings import Settings

log = logging.getLogger(__name__)

REDIS_EXPORT_DELAY_MS = 500
"""How soon a finished turn can be read back with `bot trace` (the processor's batch delay)."""
SOURCE_TEXT = frozenset({"kb.rewrite", "kb.sql", "kb.guard.problems", "kb.notes"})
"""Attributes that may quote a passage, or a model's words drawn from one: withheld from admins
for a restricted turn (bot/ops/traceview.py)."""
CONTENT = SOURCE_TEXT | {"kb.question", "kb.guard.detail"}
"""Attributes that carry anyone's words: kept out of an OTLP collector unless OTEL_EXPORT_CONTENT.
Which turn is restricted is only known once its root span ends, after its children have left,
so every turn's are kept out (fail closed)."""
EVENT_TEXT = frozenset({"exception.message", "exception.stacktrace"})
"""An error's own words may quote what it failed on; its type stays."""


def build_tracer_provider(settings: Settings, client: redis.Redis) -> TracerProvider | None:
    """The provider every span of this process goes through, or None when traces are off."""
    endpoint = settings.otlp_traces_endpoint
    if not settings.trace_keep and not endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.otel_service_name}))
    if settings.trace_keep:
        exporter = RedisSpanExporter(
            client, settings.redis_prefix, settings.trace_retention_s, settings.trace_keep
        )
        provider.add_span_processor(
            BatchSpanProcessor(exporter, schedule_delay_millis=REDIS_EXPORT_DELAY_MS)
        )
    if endpoint:
        # protobuf and the OTLP exporter load only when a collector is configured.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter if settings.otel_export_content else WithoutContent(exporter)
            )
        )
    return provider


def turn_id_of(span: trace.Span) -> str:
    """The turn's id: its trace id in hex ("" for a span that is not recorded anywhere)."""
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


class RedisSpanExporter(SpanExporter):
    """Keeps the spans of the last turns in Redis: bounded in number and in time."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int, keep: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._keep = keep

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        now = time.time()
        index = f"{self._prefix}traces"
        turns: set[str] = set()
        try:
            pipe = self._redis.pipeline(transaction=False)
            for span in spans:
                turn = format(span.context.trace_id, "032x")
                pipe.rpush(
                    f"{self._prefix}trace:{turn}", json.dumps(span_record(span), ensure_ascii=False)
                )
                pipe.expire(f"{self._prefix}trace:{turn}", self._ttl_s)
                turns.add(turn)
            pipe.zadd(index, dict.fromkeys(turns, now))
            pipe.zremrangebyscore(index, "-inf", now - self._ttl_s)
            pipe.expire(index, self._ttl_s)
            pipe.zcard(index)
            kept = pipe.execute()[-1]
            if kept > self._keep:
                oldest = [turn for turn, _ in self._redis.zpopmin(index, kept - self._keep)]
                self._redis.delete(*(f"{self._prefix}trace:{turn}" for turn in oldest))
        except redis.RedisError as error:  # traces are a record, not a reason to fail anything
            log.warning("could not keep %d spans in Redis: %s", len(spans), error)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


class WithoutContent(SpanExporter):
    """Passes spans on to `exporter` without CONTENT, error messages or status descriptions."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._exporter.export([without_content(span) for span in spans])

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def without_content(span: ReadableSpan) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={
            key: value for key, value in (span.attributes or {}).items() if key not in CONTENT
        },
        events=[
            Event(
                event.name,
                {
                    key: value
                    for key, value in (event.attributes or {}).items()
                    if key not in EVENT_TEXT
                },
                event.timestamp,
            )
            for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def span_record(span: ReadableSpan) -> dict:
    """A span as kept in Redis: enough to draw the tree with timings and attributes."""
    return {
        "name": span.name,
        "span_id": format(span.context.span_id, "016x"),
        "parent_id": format(span.parent.span_id, "016x") if span.parent else "",
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "attributes": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in (span.attributes or {}).items()
        },
        "status": span.status.status_code.name,
        "error": span.status.description or "",
    }
