"""An OTLP/HTTP trace collector on localhost: decodes each protobuf ExportTraceServiceRequest
into plain spans. `delay_s` makes it a slow collector (each request takes that long);
`hold()` a stuck one (requests wait until `release()`)."""

from __future__ import annotations

import gzip
import threading
import time
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.fakes.http import LocalServer, QuietHandler


class FakeCollector(LocalServer):
    def __init__(self, delay_s: float = 0.0) -> None:
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.waiting = 0
        """Requests that arrived while held and are not answered yet."""
        self._open = threading.Event()
        self._open.set()
        self._changed = threading.Condition()
        collector = self

        class _Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                with collector._changed:
                    collector.waiting += 1
                    collector._changed.notify_all()
                collector._open.wait()
                time.sleep(delay_s)  # a slow collector, as benchmarks need one (0 in tests)
                request = ExportTraceServiceRequest.FromString(raw)
                with collector._changed:
                    collector.waiting -= 1
                    collector._record(self.path, request)
                    collector._changed.notify_all()
                self.reply(
                    200, "application/x-protobuf", ExportTraceServiceResponse().SerializeToString()
                )

        super().__init__(_Handler)

    @property
    def endpoint(self) -> str:
        """What OTEL_EXPORTER_OTLP_ENDPOINT is set to (the exporter adds /v1/traces)."""
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self.release()  # a held request would keep shutdown() waiting
        super().__exit__(*exc)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_until(self, condition, timeout: float = 30.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout=timeout)

    def _record(self, path: str, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
            self.resources.append(resource)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        {
                            "path": path,
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex(),
                            "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                        }
                    )


def _value(value) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None
