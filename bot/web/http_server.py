"""The HTTP server of `bot serve --http`: the standard library's threaded WSGI server, with each
connection kept open for the client's next request (HTTP/1.1 persistent connections).

wsgiref answers one request a connection, in HTTP/1.0, so a client that calls again (an MCP
agent's tool calls, a script's loop over /v1/ask, a load balancer's pooled connections) paid a
new TCP connection every time. Here a connection's thread reads the next request once it has
answered one, as long as the client can tell where the response ended: it has a Content-Length,
as every JSON reply here has. A response without one (the OpenAI-compatible stream) ends its
connection, as before, and says so (`Connection: close`). A connection idle for
HTTP_KEEPALIVE_S is closed, which also bounds how long a client that stalls mid-request holds
its thread.

Still one thread a connection, so Admission (bot/web/admission.py) sees every request the
moment it arrives and tells the one past ANSWER_WORKERS + ANSWER_QUEUE that the bot is busy.
That is why this is a subclass and not waitress or cheroot: both answer from a fixed pool of
threads (4 and 10 by default), behind which a burst would wait unseen; and gunicorn (the
README's production host) is a process manager to run the app under, not a server to embed.
"""

from __future__ import annotations

import logging
import re
import socket
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingMixIn
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

log = logging.getLogger(__name__)

UNKEPT_TIMEOUT_S = 30.0
"""With HTTP_KEEPALIVE_S=0, how long a client may stall mid-request before its thread goes."""
_DIGITS = re.compile(r"[0-9]+")
DRAIN_MAX_BYTES = 65_536
"""A body the app left unread up to this size is read and dropped to keep the connection; past
it (or when its length is unknown) the connection is closed instead."""


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128
    """The listen backlog; socketserver's default of 5 reset connections at 16 concurrent requests."""
    keepalive_s: float = 0
    """How long a connection may wait for its next request; 0: one request a connection."""


class Body:
    """`wsgi.input`: this request's body and nothing past it, which is the next request."""

    def __init__(self, stream, length: int) -> None:
        self._stream, self.left = stream, length
        self.cut_short = False
        """The client closed before sending all it announced."""

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self._stream.readline, size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(self)

    def __iter__(self):
        while line := self.readline():
            yield line

    def _take(self, read, size: int | None) -> bytes:
        wanted = self.left if size is None or size < 0 else min(size, self.left)
        data = read(wanted) if wanted else b""
        self.left -= len(data)
        if len(data) < wanted and not data.endswith(b"\n"):  # a short read is the end of the stream
            self.cut_short, self.left = True, 0
        return data

    def drain(self) -> bool:
        """Read what the app left of the body; False when the connection cannot carry on."""
        while self.left and not self.cut_short:
            self.read(self.left)
        return not self.cut_short


class _Response(ServerHandler):
    http_version = "1.1"
    _held: bytearray | None = None

    def send_headers(self) -> None:
        # wsgiref writes the status line and each header on its own; held here, they go out with
        # the body's first block in one packet.
        self._held = bytearray()
        super().send_headers()

    def _write(self, data: bytes) -> None:
        if self._held is None:
            super()._write(data)
        else:
            self._held += data

    def _flush(self) -> None:
        if self._held is not None:
            held, self._held = bytes(self._held), None
            super()._write(held)
        super()._flush()

    def finish_content(self) -> None:
        super().finish_content()  # the headers of a response with no body: sent here
        self._flush()

    def cleanup_headers(self) -> None:
        super().cleanup_headers()  # Content-Length when the app returned one block
        request = self.request_handler
        if "Content-Length" not in self.headers:  # the response ends where the connection does
            request.close_connection = True
        if request.body.left > DRAIN_MAX_BYTES:  # too much unread to read through: said now
            request.close_connection = True
        if request.close_connection:
            self.headers["Connection"] = "close"
        elif request.request_version == "HTTP/1.0":  # it asked for keep-alive, and has it
            self.headers["Connection"] = "keep-alive"

    def write(self, data: bytes) -> None:
        if self.environ["REQUEST_METHOD"] != "HEAD":
            return super().write(data)
        # A HEAD's reply has the headers a GET's would, and no body: wsgiref would send the app's
        # body anyway, which a client on a kept connection reads as the next response.
        if not self.headers_sent:
            self.bytes_sent = len(data)  # the Content-Length a GET would have
            self.send_headers()
        self._flush()

    def handle_error(self) -> None:
        # After the headers, a failure cuts the response short; only closing tells the client.
        self.request_handler.close_connection = True
        super().handle_error()

    def close(self) -> None:
        declared = self.headers.get("Content-Length") if self.headers is not None else None
        head = self.environ is not None and self.environ.get("REQUEST_METHOD") == "HEAD"
        if declared is not None and not head and declared != str(self.bytes_sent):
            self.request_handler.close_connection = True  # the app's length was wrong
        super().close()


class KeepAliveHandler(WSGIRequestHandler):
    """wsgiref's handler, looping over the requests of one connection."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        # Every read and write on the connection waits at most this: an idle or stalled client
        # lets its thread go, kept connections or not.
        self.timeout = self.server.keepalive_s or UNKEPT_TIMEOUT_S
        super().setup()
        # A response's last packet is sent at once, not held for the client's ack of the one
        # before (Nagle's algorithm): on a kept connection that wait is a delayed ack, ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        log.debug("http: " + format, *args)

    handle = BaseHTTPRequestHandler.handle  # wsgiref's serves one request; the base class loops

    def handle_one_request(self) -> None:
        self.close_connection = True
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:  # the client closed, or never sent anything
                return
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.parse_request():  # it answered the error, and closes
                return
            lengths = self.headers.get_all("Content-Length") or ["0"]
            if len(lengths) > 1 or not _DIGITS.fullmatch(lengths[0].strip()):
                # Two lengths, or one not in ASCII digits ("²" passes isdigit), would let a proxy
                # in front and this server read different bodies: refused, and the connection ends.
                self.send_error(400, "One Content-Length of digits, please")
                return
            if not self.server.keepalive_s:
                self.close_connection = True
            self.body = self._body()
            handler = _Response(
                self.body, self.wfile, self.get_stderr(), self.get_environ(), multithread=False
            )
            handler.request_handler = self  # wsgiref's back pointer (logging, and the above)
            handler.run(self.server.get_app())
            if not self.close_connection and not self.body.drain():
                self.close_connection = True
        except OSError:  # idle past HTTP_KEEPALIVE_S, or the client went away mid-request
            self.close_connection = True

    def _body(self) -> Body:
        length = (self.headers.get("Content-Length") or "0").strip()
        if "Transfer-Encoding" in self.headers:
            # wsgiref cannot read a chunked body: the app sees none, and what was sent is dropped
            # with the connection instead of being read as the next request.
            self.close_connection = True
            return Body(self.rfile, 0)
        return Body(self.rfile, int(length))


def http_server(host: str, port: int, app, keepalive_s: float, handler=KeepAliveHandler):
    """A threaded WSGI server for `app` at host:port, keeping connections `keepalive_s` (0: not)."""
    server = ThreadingWSGIServer((host, port), handler)
    server.keepalive_s = keepalive_s
    server.set_app(app)
    return server
