"""The HTTP server of `bot serve --http` (bot/web/http_server.py) on localhost, with small WSGI
apps standing for the routes: a connection carries one request after another, a body the app
leaves unread does not become the next request, a response without a length ends its
connection, and a client that goes away mid-request lets its thread go. The real routes over
one connection are in tests/test_mcp.py."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from bot.web.http_server import DRAIN_MAX_BYTES, KeepAliveHandler, http_server


def echo(environ, start_response):
    """The method, path and body it was sent, as JSON with its length."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode()
    payload = json.dumps({"path": environ["PATH_INFO"], "body": body}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [payload]


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/unread":  # answers before reading the body, as a refused key does
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"no key"]
    if path == "/stream":  # no length: a server-sent-event stream
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return (f"data: {n}\n\n".encode() for n in range(3))
    if path == "/fails-midway":

        def broken():
            yield b"half"
            raise RuntimeError("the answer failed after its headers were sent")

        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "100")])
        return broken()
    return echo(environ, start_response)


class Served:
    """A server on a free port in a thread; `finished` counts the connections whose thread ended."""

    def __init__(self, keepalive_s: float) -> None:
        self.finished = threading.Semaphore(0)
        finished = self.finished

        class Observed(KeepAliveHandler):
            def finish(self):
                super().finish()
                finished.release()

        self.server = http_server("127.0.0.1", 0, app, keepalive_s, handler=Observed)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served():
    served = Served(keepalive_s=30)
    yield served
    served.close()


def read(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None):
    connection.request(method, path, body=body)
    response = connection.getresponse()
    return response, response.read()


def until_closed(client: socket.socket) -> bytes:
    """All the server sends, to its closing the connection (the client's timeout fails a hang)."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def test_two_requests_on_one_connection_are_both_answered(served):
    connection = served.connection()
    first, body = read(connection, "POST", "/one", b'{"n": 1}')
    kept = connection.sock
    assert first.status == 200 and json.loads(body) == {"path": "/one", "body": '{"n": 1}'}
    assert first.version == 11 and first.getheader("Connection") is None and kept is not None
    second, body = read(connection, "GET", "/two")
    assert second.status == 200 and json.loads(body) == {"path": "/two", "body": ""}
    assert connection.sock is kept  # the same socket: no new connection was made
    connection.close()


def test_a_body_the_app_did_not_read_is_not_taken_for_the_next_request(served):
    connection = served.connection()
    refused, body = read(connection, "POST", "/unread", b'{"jsonrpc": "2.0", "method": "x"}')
    assert refused.status == 401 and body == b"no key"
    answered, body = read(connection, "POST", "/after", b"next")
    assert answered.status == 200 and json.loads(body) == {"path": "/after", "body": "next"}
    assert connection.sock is not None
    # A body too long to read through is dropped with its connection instead.
    big, _ = read(connection, "POST", "/unread", b"x" * (DRAIN_MAX_BYTES + 1))
    assert big.status == 401 and connection.sock is None
    connection.close()


def test_a_head_request_gets_headers_only_and_the_connection_goes_on(served):
    with served.raw() as client:  # a load balancer's health check, then a request behind it
        client.sendall(
            b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        received = until_closed(client)
    head, after = received.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: 32" in head
    assert after.startswith(b"HTTP/1.1 200 OK") and after.endswith(
        b'{"path": "/after", "body": ""}'
    )


def test_a_response_without_a_length_ends_its_connection(served):
    connection = served.connection()
    streamed, body = read(connection, "GET", "/stream")
    assert streamed.status == 200 and body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert streamed.getheader("Connection") == "close" and connection.sock is None
    again, body = read(connection, "GET", "/again")  # http.client connects anew
    assert again.status == 200 and json.loads(body)["path"] == "/again"
    connection.close()


def test_a_response_cut_short_by_a_failure_ends_its_connection(served):
    with served.raw() as client:
        client.sendall(
            b"GET /fails-midway HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        received = until_closed(client)
    assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"half")
    assert b"/next" not in received  # the second request was not answered on a broken stream


def test_a_client_that_closes_mid_request_does_not_hold_a_thread(served):
    with served.raw() as client:  # announces a body, sends part of it and is gone
        client.sendall(b"POST /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n01234")
    assert served.finished.acquire(timeout=10)
    with served.raw() as client:  # announces 100 bytes, sends 10, goes away
        client.sendall(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        client.shutdown(socket.SHUT_WR)
        reply = until_closed(client)
    assert reply.startswith(b"HTTP/1.1 200 OK") and b'"body": "0123456789"' in reply
    assert served.finished.acquire(timeout=10)
    with served.raw():  # connects and closes without a word
        pass
    assert served.finished.acquire(timeout=10)
    connection = served.connection()  # and the server still answers
    assert read(connection, "GET", "/still")[0].status == 200
    connection.close()


def test_an_idle_connection_is_closed_after_the_keepalive():
    served = Served(keepalive_s=0.2)
    try:
        with served.raw() as client:
            client.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
            received = until_closed(client)  # answered, then closed once idle
        assert received.startswith(b"HTTP/1.1 200 OK") and b"/first" in received
        assert served.finished.acquire(timeout=10)
    finally:
        served.close()


def test_with_keepalive_off_each_connection_carries_one_request():
    served = Served(keepalive_s=0)
    try:
        connection = served.connection()
        response, _ = read(connection, "GET", "/only")
        assert response.status == 200 and response.getheader("Connection") == "close"
        assert connection.sock is None
        connection.close()
    finally:
        served.close()


def test_an_http_1_0_client_gets_one_response_and_the_connection_closes(served):
    with served.raw() as client:
        client.sendall(b"GET /old HTTP/1.0\r\n\r\n")
        received = until_closed(client)
    assert received.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in received


@pytest.mark.parametrize(
    "lengths",
    [["0", "40"], ["²"]],  # two lengths (smuggling through a proxy that takes the last); not ASCII
)
def test_an_ambiguous_length_ends_the_connection_and_its_rest_is_never_a_request(served, lengths):
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    client = served.raw()
    headers = "".join(f"Content-Length: {n}\r\n" for n in lengths).encode("latin-1")
    client.sendall(b"POST /first HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n" + smuggled)
    received = until_closed(client)
    client.close()
    assert received.startswith(b"HTTP/1.1 400") and b"/smuggled" not in received
    assert served.finished.acquire(timeout=10)
