"""What the HTTP API adds to an answer: `POST /v1/ask` against the same questions through
`bot ask --jsonl`, in one run.

Ingests the sample knowledge base once (extractive mode, answer cache off, so every question is
answered in full), copies the index (the embedded store is one process's), and starts both
`bot serve --http` and `bot ask --jsonl`. Questions alternate between the two, one at a time,
each in a new thread. Per path: the round trip p50/p95 as its client sees it (an HTTP request
on a new connection, or a line written to the pipe and the answer line read back) and the
agent's own `latency_ms`; the overhead is the difference of the round-trip p50s. Then, in this
process and without sockets, the WSGI app against `agent.answer` and its JSON: the edge's own cost.

    python -m tests.benchmarks.http [--rounds 20]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bot.web.api_keys import ApiKeys
from tests.benchmarks.load import QUESTIONS
from tests.conftest import ISOLATED_ENV, SAMPLE_KB, copy_store
from tests.serve import Serve
from tests.slack_helpers import free_port


def over_http(port: int, key: str, question: str, thread: str) -> tuple[float, dict]:
    """A new connection per request, as curl makes (wsgiref speaks HTTP/1.0: no keep-alive)."""
    body = json.dumps({"question": question, "thread": thread})
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        "/v1/ask",
        body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return time.perf_counter() - started, answer


def in_process(store: str, key_prefix: str, rounds: int) -> dict:
    """The edge's own cost, without sockets: the WSGI app called directly against `agent.answer`
    and the JSON of `bot ask --jsonl`, alternately, in this process."""
    from bot.chain.agent import Agent
    from bot.chain.answer_json import answer_json
    from bot.deps import build_deps
    from bot.settings import load_settings
    from bot.web.app import wsgi_app

    deps = build_deps(
        load_settings(env_file=None).replace(
            qdrant_path=Path(store), redis_prefix=key_prefix, answer_cache=False
        ),
        metrics=True,
    )
    agent, key = Agent(deps), ApiKeys(deps.redis, key_prefix).add("in-process", per_minute=0)
    application = wsgi_app(deps, None, agent)

    def through_edge(question: str, thread: str) -> float:
        body = json.dumps({"question": question, "thread": thread}).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/v1/ask",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_AUTHORIZATION": f"Bearer {key}",
        }
        started = time.perf_counter()
        b"".join(application(environ, lambda status, headers, exc_info=None: None))
        return time.perf_counter() - started

    def direct(question: str, thread: str) -> float:
        started = time.perf_counter()
        json.dumps(answer_json(agent.answer(question, thread), thread), ensure_ascii=False)
        return time.perf_counter() - started

    try:
        edge, plain = [], []
        for number in range(rounds * len(QUESTIONS)):
            question = QUESTIONS[number % len(QUESTIONS)]
            edge.append(through_edge(question, f"e{number}"))
            plain.append(direct(question, f"d{number}"))
    finally:
        deps.close()
    return {
        "path": "in process: WSGI app vs agent",
        "edge_p50_ms": round(statistics.median(edge) * 1000, 2),
        "agent_p50_ms": round(statistics.median(plain) * 1000, 2),
        "edge_overhead_p50_ms": round(
            (statistics.median(edge) - statistics.median(plain)) * 1000, 2
        ),
    }


def over_jsonl(process: subprocess.Popen, question: str, thread: str) -> tuple[float, dict]:
    started = time.perf_counter()
    process.stdin.write(json.dumps({"id": thread, "question": question, "thread": thread}) + "\n")
    process.stdin.flush()
    answer = json.loads(process.stdout.readline())
    return time.perf_counter() - started, answer


def summary(name: str, trips: list[float], agent_ms: list[float]) -> dict:
    trips_ms = sorted(t * 1000 for t in trips)
    return {
        "path": name,
        "round_trip_p50_ms": round(statistics.median(trips_ms), 2),
        "round_trip_p95_ms": round(trips_ms[int(len(trips_ms) * 0.95) - 1], 2),
        "agent_p50_ms": round(statistics.median(agent_ms), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=20, help="times each question is asked on each path"
    )
    args = parser.parse_args(argv)
    prefix = f"bench-http:{os.getpid()}:"
    with tempfile.TemporaryDirectory() as data:
        env = {
            **{k: v for k, v in os.environ.items() if k not in ISOLATED_ENV},
            "HF_HUB_OFFLINE": "1",
            "DATA_DIR": data,
            "QDRANT_PATH": f"{data}/qdrant",
            "REDIS_PREFIX": prefix,
            "ANSWER_CACHE": "off",
        }
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [bin_dir / "ingest", str(SAMPLE_KB)], env=env, check=True, stdout=subprocess.DEVNULL
        )
        copy_store(Path(data) / "qdrant", Path(data) / "qdrant-cli")
        client = redis.Redis.from_url(
            env.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True
        )
        key = ApiKeys(client, prefix).add("bench", per_minute=0)
        serve = Serve(env, free_port())
        cli = subprocess.Popen(
            [bin_dir / "bot", "ask", "--jsonl"],
            env={**env, "QDRANT_PATH": f"{data}/qdrant-cli"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        try:
            serve.wait_ready()
            for question in QUESTIONS:  # warm both: first calls load caches
                over_http(serve.port, key, question, "warm")
                over_jsonl(cli, question, "warm")
            over_the_wire, jsonl = ([], []), ([], [])
            for number in range(args.rounds * len(QUESTIONS)):
                question = QUESTIONS[number % len(QUESTIONS)]
                paths = [
                    (
                        over_the_wire,
                        lambda t, question=question: over_http(serve.port, key, question, t),
                    ),
                    (jsonl, lambda t, question=question: over_jsonl(cli, question, t)),
                ]
                for (trips, agent_ms), ask in paths if number % 2 else reversed(paths):
                    took, answer = ask(f"b{number}")
                    trips.append(took)
                    agent_ms.append(answer["latency_ms"])
            rows = [summary("POST /v1/ask", *over_the_wire), summary("bot ask --jsonl", *jsonl)]
        except Exception:
            print("".join(serve.output[-40:]), file=sys.stderr)
            raise
        finally:
            serve.stop()
            cli.stdin.close()
            cli.wait(timeout=60)
        try:
            rows.append(
                in_process(f"{data}/qdrant-cli", prefix, args.rounds)
            )  # the CLI has let go of its store
        finally:
            leftovers = list(client.scan_iter(f"{prefix}*"))
            if leftovers:
                client.delete(*leftovers)
    for row in rows:
        print(json.dumps(row))
    overhead = rows[0]["round_trip_p50_ms"] - rows[1]["round_trip_p50_ms"]
    print(
        json.dumps(
            {
                "questions_per_path": args.rounds * len(QUESTIONS),
                "http_overhead_p50_ms": round(overhead, 2),
                "goal_ms": 3,
                "met": overhead <= 3,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
