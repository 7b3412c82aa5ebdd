"""A JSON API on localhost for the connectors' fakes: GET and POST routed to `route(request)`, every
request recorded, and faults queued ahead of time (a 429 with Retry-After, a 5xx) to answer the
next matching request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.http import LocalServer, QuietHandler


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class JsonApi(LocalServer):
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: list[tuple[str, Reply]] = []
        """(fragment of path and query, reply) answered once, in order, instead of the route."""
        self._lock = threading.Lock()
        api = self

        class _Handler(QuietHandler):
            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                parts = urlsplit(self.path)
                body = (
                    (
                        json.loads(raw)
                        if raw.startswith("{")
                        else {k: v[0] for k, v in parse_qs(raw).items()}
                    )
                    if raw
                    else {}
                )
                request = Request(
                    method,
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with api._lock:
                    api.requests.append(request)
                    fault = next((f for f in api.faults if f[0] in self.path), None)
                    if fault:
                        api.faults.remove(fault)
                reply = fault[1] if fault else api.route(request)
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in {
                    "Content-Type": "application/json",
                    **reply.headers,
                }.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(_Handler)

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def fail_next(self, path_fragment: str, reply: Reply) -> None:
        with self._lock:
            self.faults.append((path_fragment, reply))

    def paths(self, fragment: str = "") -> list[str]:
        return [r.path for r in self.requests if fragment in r.path]
