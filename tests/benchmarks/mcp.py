"""What the MCP edge adds to a search: `search_knowledge` against the same search called
in-process (`Lookup.search`, bot/lookup.py), in one run.

Ingests the sample knowledge base, copies the index (the embedded store is one process's),
starts `bot serve --http` on one copy and builds the clients on the other in this process.
Queries alternate between four paths, each going first in turn: the search in-process; the
WSGI app's /mcp called in-process without sockets (the server's side of the HTTP path: key
check, a2wsgi, the SDK's transport and dispatch, JSON); the SDK's client against the server in
memory (its dispatch alone); the SDK's client over streamable HTTP to `bot serve --http`,
one session kept open as an agent keeps it (what an agent waits for, its own client included);
and the same to a second `bot serve --http` with HTTP_KEEPALIVE_S=0, a new connection a call
(the HTTP/1.0 server's way before connections were kept). The goal: at most 5 ms p50 over the
in-process search.

    python -m tests.benchmarks.mcp [--rounds 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bot.web.api_keys import ApiKeys
from tests.benchmarks.load import QUESTIONS
from tests.conftest import ISOLATED_ENV, SAMPLE_KB, copy_store
from tests.serve import Serve
from tests.slack_helpers import free_port

GOAL_MS = 5.0
PATHS = (
    "in process (Lookup.search)",
    "/mcp WSGI app in process (no sockets)",
    "MCP in memory (SDK client)",
    "MCP over HTTP (SDK client, bot serve --http)",
    "MCP over HTTP, a new connection a call (HTTP_KEEPALIVE_S=0)",
)


def percentiles(name: str, seconds: list[float]) -> dict:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "path": name,
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 2),
    }


def measure(data: str, ports: tuple[int, int], key: str, prefix: str, rounds: int) -> list[dict]:
    from bot.chain.agent import Agent
    from bot.deps import build_deps
    from bot.lookup import Lookup
    from bot.mcp_server.callers import local_caller
    from bot.mcp_server.server import build_server
    from bot.settings import load_settings
    from bot.web.admission import Admission
    from bot.web.app import wsgi_app
    from knowledge.access import Asker

    deps = build_deps(
        load_settings(env_file=None).replace(
            qdrant_path=Path(data) / "qdrant-local",
            redis_prefix=prefix,
            answer_cache=False,
        ),
        metrics=True,
    )
    agent = Agent(deps)
    lookup, asker, application = Lookup(deps), Asker(), wsgi_app(deps, None, agent)
    in_memory = build_server(deps, agent, Admission(4, 4), local_caller())
    timings: dict[str, list[float]] = {name: [] for name in PATHS}

    async def run() -> None:
        def over(port: int) -> Client:
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http))

        async with (
            over(ports[0]) as over_http,
            over(ports[1]) as unkept,
            Client(in_memory) as memory,
        ):

            async def called(client: Client, query: str) -> float:
                started = time.perf_counter()
                result = await client.call_tool("search_knowledge", {"query": query, "limit": 5})
                took = time.perf_counter() - started
                assert not result.is_error and result.structured_content["passages"], result
                return took

            async def direct(query: str) -> float:
                started = time.perf_counter()
                found = lookup.search(query, 5, asker)
                took = time.perf_counter() - started
                assert found, query
                return took

            async def edge(query: str) -> float:
                """The WSGI app's /mcp called directly: the server's side of the HTTP path, no sockets."""
                started = time.perf_counter()
                status, body = wsgi_call(application, key, query)
                took = time.perf_counter() - started
                assert status.startswith("200") and b'"passages":[{' in body, body[:300]
                return took

            calls = {
                PATHS[0]: direct,
                PATHS[1]: edge,
                PATHS[2]: lambda q: called(memory, q),
                PATHS[3]: lambda q: called(over_http, q),
                PATHS[4]: lambda q: called(unkept, q),
            }
            for query in QUESTIONS:  # warm every path: first calls fill caches
                for call in calls.values():
                    await call(query)
            names = list(calls)
            for number in range(rounds * len(QUESTIONS)):
                query = QUESTIONS[number % len(QUESTIONS)]
                turn = number % len(names)
                for name in names[turn:] + names[:turn]:  # each path goes first in turn
                    timings[name].append(await calls[name](query))

    try:
        anyio.run(run)
    finally:
        deps.close()
    return [percentiles(name, seconds) for name, seconds in timings.items()]


def wsgi_call(application, key: str, query: str) -> tuple[str, bytes]:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "search_knowledge",
                "arguments": {"query": query, "limit": 5},
            },
        }
    ).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/mcp",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_ACCEPT": "application/json, text/event-stream",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "HTTP_MCP_PROTOCOL_VERSION": "2025-11-25",
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    seen = []
    out = b"".join(application(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0], out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=20,
        help="times each query is searched on each path",
    )
    args = parser.parse_args(argv)
    prefix = f"bench-mcp:{os.getpid()}:"
    with tempfile.TemporaryDirectory() as data:
        env = {
            **{k: v for k, v in os.environ.items() if k not in ISOLATED_ENV},
            "HF_HUB_OFFLINE": "1",
            "DATA_DIR": data,
            "QDRANT_PATH": f"{data}/qdrant",
            "REDIS_PREFIX": prefix,
        }
        subprocess.run(
            [Path(sys.executable).parent / "ingest", str(SAMPLE_KB)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # The embedded store is one process's: a copy for this one and for the second server.
        copy_store(Path(data) / "qdrant", Path(data) / "qdrant-local")
        copy_store(Path(data) / "qdrant", Path(data) / "qdrant-unkept")
        os.environ.update({"HF_HUB_OFFLINE": "1", "DATA_DIR": data})
        client = redis.Redis.from_url(
            env.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True
        )
        key = ApiKeys(client, prefix).add("bench", per_minute=0)
        serve = Serve(env, free_port())
        unkept = Serve(
            {**env, "QDRANT_PATH": f"{data}/qdrant-unkept", "HTTP_KEEPALIVE_S": "0"}, free_port()
        )
        try:
            serve.wait_ready()
            unkept.wait_ready()
            rows = measure(data, (serve.port, unkept.port), key, prefix, args.rounds)
        finally:
            serve.stop()
            unkept.stop()
            leftovers = list(client.scan_iter(f"{prefix}*"))
            if leftovers:
                client.delete(*leftovers)
    for row in rows:
        print(json.dumps(row))
    p50 = {row["path"]: row["p50_ms"] for row in rows}
    edge, http = p50[PATHS[1]] - p50[PATHS[0]], p50[PATHS[3]] - p50[PATHS[0]]
    print(
        json.dumps(
            {
                "queries_per_path": args.rounds * len(QUESTIONS),
                "server_edge_overhead_p50_ms": round(edge, 2),
                "sdk_in_memory_overhead_p50_ms": round(p50[PATHS[2]] - p50[PATHS[0]], 2),
                "http_round_trip_overhead_p50_ms": round(http, 2),
                "http_new_connection_a_call_overhead_p50_ms": round(
                    p50[PATHS[4]] - p50[PATHS[0]], 2
                ),
                "goal_ms": GOAL_MS,
                "server_edge_met": edge <= GOAL_MS,
                "round_trip_met": http <= GOAL_MS,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
