"""A stdlib HTTP server on localhost, run in a thread, that records what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Handler = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing (the test's output stays the test's) and replies in one call."""

    def reply(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class LocalServer:
    """A ThreadingHTTPServer on a free localhost port, serving from a thread while entered."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class RecordingServer(LocalServer):
    """Routes POST bodies (JSON or form-encoded) to `handle(path, body)` and records each call."""

    def __init__(self, handle: Handler) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._handle = handle
        self._changed = threading.Condition()
        server = self

        class _Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                body = _decode(raw, self.headers.get("Content-Type", ""))
                with server._changed:
                    server.calls.append((self.path, body))
                    server._changed.notify_all()
                status, reply = server._handle(self.path, body)
                self.reply(status, "application/json", json.dumps(reply).encode())

        super().__init__(_Handler)

    def calls_to(self, path_suffix: str) -> list[dict[str, Any]]:
        return [body for path, body in list(self.calls) if path.endswith(path_suffix)]

    def wait_for(
        self, path_suffix: str, count: int = 1, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        with self._changed:
            self._changed.wait_for(
                lambda: len(self.calls_to(path_suffix)) >= count, timeout=timeout
            )
        return self.calls_to(path_suffix)


def _decode(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return json.loads(raw or "{}")
    fields = {k: v[0] for k, v in parse_qs(raw).items()}
    for key in ("blocks", "attachments"):
        if key in fields:
            fields[key] = json.loads(fields[key])
    return fields
