"""The MCP tests' side of the wire: a `bot serve --http` serving /mcp, reached through the
official SDK's client (streamable HTTP, a key per session) or as plain HTTP."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import ISOLATED_ENV


def environment(kb: Path, redis_url: str, prefix: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in ISOLATED_ENV},
        "QDRANT_PATH": str(kb),
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": prefix,
        "RATE_LIMIT_PER_MINUTE": "0",
        "ANSWER_CACHE": "false",
    }


class Served:
    def __init__(self, serve, redis_client, prefix, keys, hr, general) -> None:
        self.serve, self.redis, self.prefix, self.keys, self.hr, self.general = (
            serve,
            redis_client,
            prefix,
            keys,
            hr,
            general,
        )
        self.url = f"http://127.0.0.1:{serve.port}/mcp"

    def session(self, key: str) -> Client:
        """The SDK's client on the streamable HTTP transport, sending `key`."""
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
        return Client(streamable_http_client(self.url, http_client=http))

    def calls(self, key: str, *calls: tuple[str, dict]) -> list:
        """Each (tool, arguments) called in one session, in order; the results."""

        async def run() -> list:
            async with self.session(key) as client:
                return [await client.call_tool(name, arguments) for name, arguments in calls]

        return anyio.run(run)


def post(server: Served, path: str, body: dict, key: str) -> tuple[int, dict]:
    status, _, raw = raw_post(f"http://127.0.0.1:{server.serve.port}{path}", body, key)
    return status, json.loads(raw)


def raw_post(url: str, body: dict, key: str) -> tuple[int, dict, bytes]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
