"""The streamable HTTP transport at /mcp, inside the WSGI app that `bot serve --http` (or gunicorn)
serves (bot/web/app.py).

The SDK's transport is an ASGI app; the bot's server is WSGI. a2wsgi's `ASGIMiddleware` runs
the ASGI app on an event loop of its own (one thread) and hands each WSGI request to it, so
one port serves Slack, the HTTP API and MCP. The transport is stateless with JSON replies:
every POST is a whole exchange, nothing is kept between requests, so it holds no WSGI thread
open for a stream and works the same across gunicorn's workers. The SDK's session manager
needs its task group running for as long as it serves: entered here on that loop, since no
ASGI server is there to run the app's lifespan.

The API key is checked before the SDK sees the request: no key or an unknown one is a 401,
as on /v1/, with a JSON-RPC error an MCP client shows; then the body is read whole (at most
API_MAX_REQUEST_BYTES, 413 beyond, as on /v1/). DNS-rebinding protection is off: it guards servers that trust whoever reaches
them on localhost, and this one trusts only a key, which a browser page cannot send."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from concurrent.futures import Future

import redis
from a2wsgi import ASGIMiddleware
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from bot.deps import Deps
from bot.mcp_server.callers import bearer
from bot.web.api_keys import ApiKeys

PATH = "/mcp"
UNAUTHORIZED = -32001
"""A JSON-RPC code of the range left to servers: the request was refused before it was read."""
INVALID_REQUEST = -32600
"""JSON-RPC's own: the body is too long, or ended before its Content-Length."""


class McpHttp:
    def __init__(self, deps: Deps, server: MCPServer, keys: ApiKeys) -> None:
        self.deps, self.keys = deps, keys
        app = server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="kb-mcp-loop", daemon=True
        )
        self._thread.start()
        started: Future[None] = Future()
        self._serving = asyncio.run_coroutine_threadsafe(self._run(server, started), self.loop)
        started.result(timeout=30)
        self.asgi = ASGIMiddleware(app, loop=self.loop)

    async def _run(self, server: MCPServer, started: Future[None]) -> None:
        self._stop = asyncio.Event()
        async with server.session_manager.run():
            started.set_result(None)
            await self._stop.wait()

    def __call__(self, environ, start_response):
        def counted(status: str, headers, exc_info=None):
            self.deps.telemetry.http_request(PATH, status.split()[0])
            return start_response(status, headers, exc_info)

        refusal = self.refusal(environ)
        if refusal is None:
            body, refusal = self.body(environ)
        if refusal is not None:
            status, message, code = refusal
            # A JSON-RPC error (the request's id unread), which MCP clients show as it is; its
            # data carries the same code as /v1/'s errors.
            rpc_code = INVALID_REQUEST if status[:3] in ("400", "413") else UNAUTHORIZED
            error = {"code": rpc_code, "message": message, "data": {"code": code}}
            payload = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
            counted(
                status,
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(payload))),
                    *([("WWW-Authenticate", "Bearer")] if status.startswith("401") else []),
                ],
            )
            return [payload]
        # a2wsgi reads CONTENT_LENGTH bytes of this, as it would of the connection.
        return self.asgi({**environ, "wsgi.input": io.BytesIO(body)}, counted)

    def body(self, environ) -> tuple[bytes, tuple[str, str, str] | None]:
        """The request's body, read whole before the SDK runs: a2wsgi asks the connection for the
        rest of a body cut short (its client gone) for ever, holding a thread and the MCP loop."""
        limit = self.deps.settings.api_max_request_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= limit:
            return b"", (
                "413 Content Too Large",
                f"The body has {length} bytes; at most {limit} are taken (API_MAX_REQUEST_BYTES).",
                "request_too_large",
            )
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) < length:
            return b"", (
                "400 Bad Request",
                f"The body ended after {len(body)} of its {length} bytes.",
                "invalid_body",
            )
        return body, None

    def refusal(self, environ) -> tuple[str, str, str] | None:
        """Why a request may not reach the server (status, message, code); None when it may."""
        secret = bearer({"authorization": environ.get("HTTP_AUTHORIZATION", "")})
        if not secret:
            return (
                "401 Unauthorized",
                "Send an API key: `Authorization: Bearer KEY` (`bot keys add NAME` makes one).",
                "missing_api_key",
            )
        try:
            known = self.keys.find(secret) is not None
        except redis.RedisError as error:
            return (
                "503 Service Unavailable",
                f"API keys cannot be checked: Redis is unreachable ({error}).",
                "unavailable",
            )
        return (
            None
            if known
            else (
                "401 Unauthorized",
                "That API key is not known (revoked, or mistyped).",
                "invalid_api_key",
            )
        )

    def close(self) -> None:
        """Stop the session manager and the loop (a test's server; a serving process just exits)."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
            self._serving.result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()


def mcp_wsgi(deps: Deps, agent, admission) -> McpHttp:
    """/mcp for the WSGI app: the MCP server, its callers known by their API keys."""
    from bot.mcp_server.callers import key_caller
    from bot.mcp_server.server import build_server

    keys = ApiKeys(deps.redis, deps.settings.redis_prefix)
    server = build_server(
        deps,
        agent,
        admission,
        key_caller(keys, deps.settings.api_rate_limit_per_minute),
    )
    return McpHttp(deps, server, keys)
