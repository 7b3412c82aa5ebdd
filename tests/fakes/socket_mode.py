"""Slack's Socket Mode endpoint on localhost: a WebSocket server that says hello, delivers
the envelopes the test queues, and records what the app sends back (its acks)."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve


class FakeSocketMode:
    def __init__(self) -> None:
        self.outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.received: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._server = serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    def deliver(self, envelope_id: str, payload: dict[str, Any]) -> None:
        """Queue an Events API envelope, as Slack sends an event over the socket."""
        self.outbox.put(
            {
                "envelope_id": envelope_id,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": payload,
            }
        )

    def wait_for_ack(self, envelope_id: str, timeout: float = 60) -> dict[str, Any]:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next(
                    (m for m in self.received if m.get("envelope_id") == envelope_id), None
                ),
                timeout,
            )
        assert found, (
            f"no ack for envelope {envelope_id} within {timeout} s; received {self.received}"
        )
        return found

    def _session(self, connection: ServerConnection) -> None:
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A1"},
                    "debug_info": {"host": "fake"},
                }
            )
        )
        while True:
            try:
                connection.send(json.dumps(self.outbox.get(timeout=0.1)))
            except queue.Empty:
                pass
            except ConnectionClosed:
                return
            try:
                message = connection.recv(timeout=0.1)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            with self._changed:
                self.received.append(json.loads(message))
                self._changed.notify_all()

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
