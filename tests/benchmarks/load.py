"""`bot serve --http` under load: signed Slack events at rising concurrency, from localhost.

Starts a Slack Web API stand-in (tests/fakes/slack_api.py) and `bot serve --http` on the sample
knowledge base (extractive mode, a private index and Redis prefix), then for each concurrency
step sends `--per-step` mentions from that many client threads at once, each a new thread.
Per step: ack latency p50/p99 (the HTTP response; answering happens after it), answers per
second until every reply is in (or `--drain-s` passes), replies that said "busy", answers lost
(no reply at all) and answered twice (both must be 0), and the worker's RSS.

    python -m tests.benchmarks.load [--steps 1,2,4,8,16,32] [--per-step 64]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import SAMPLE_KB
from tests.fakes.slack_api import FakeSlack
from tests.serve import Serve
from tests.slack_helpers import SECRET, free_port, mention

QUESTIONS = [
    "How much can I spend on a hotel?",
    "Which class can I fly in?",
    "How do I report a phishing e-mail?",
    "How many vacation days do I get?",
    "How much is the home-office budget?",
    "Which password manager should I use?",
    "Who won the football world cup in 1954?",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def deliver(serve: Serve, raw: str) -> float:
    """Seconds until the worker acknowledged the event."""
    started = time.perf_counter()
    assert serve.post(raw) == 200
    return time.perf_counter() - started


def step(
    serve: Serve, slack: FakeSlack, concurrency: int, count: int, first_ts: int, drain_s: float
) -> dict:
    threads = [f"{first_ts + n}.000100" for n in range(count)]
    events = [
        json.dumps(mention(f"<@UBOT> {QUESTIONS[n % len(QUESTIONS)]}", ts=ts))
        for n, ts in enumerate(threads)
    ]
    before = len(slack.calls_to("chat.postMessage"))
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        acks = sorted(pool.map(lambda raw: deliver(serve, raw), events))
    slack.wait_for("chat.postMessage", count=before + count, timeout=drain_s)
    elapsed = time.perf_counter() - started
    posts = [
        p for p in slack.calls_to("chat.postMessage")[before:] if p.get("thread_ts") in set(threads)
    ]
    replies = Counter(p["thread_ts"] for p in posts)
    busy = sum("Many questions are being answered" in p.get("text", "") for p in posts)
    return {
        "concurrency": concurrency,
        "events": count,
        "ack_p50_ms": round(statistics.median(acks) * 1000, 1),
        "ack_p99_ms": round(acks[min(len(acks) - 1, int(len(acks) * 0.99))] * 1000, 1),
        "answers_per_s": round((len(replies) - busy) / elapsed, 1),
        "busy": busy,
        "lost": count - len(replies),
        "twice": sum(n > 1 for n in replies.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,2,4,8,16,32")
    parser.add_argument("--per-step", type=int, default=64)
    parser.add_argument("--drain-s", type=float, default=300.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data, FakeSlack() as slack:
        env = dict(
            os.environ,
            HF_HUB_OFFLINE="1",
            DATA_DIR=data,
            QDRANT_PATH=f"{data}/qdrant",
            REDIS_PREFIX=f"bench-load:{os.getpid()}:",
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            RATE_LIMIT_PER_MINUTE="0",
            ANSWER_CACHE="off",
        )
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_TIERS", "SLACK_APP_TOKEN"):
            env.pop(name, None)
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [bin_dir / "ingest", str(SAMPLE_KB)], env=env, check=True, stdout=subprocess.DEVNULL
        )
        serve = Serve(env, free_port())
        try:
            serve.wait_ready()
            print(
                f"{'conc':>5} {'events':>6} {'ack p50':>9} {'ack p99':>9} {'ans/s':>7} {'busy':>5} {'lost':>5} "
                f"{'twice':>5} {'RSS MB':>7}"
            )
            for number, concurrency in enumerate(int(c) for c in args.steps.split(",")):
                row = step(
                    serve,
                    slack,
                    concurrency,
                    args.per_step,
                    1_700_000_000 + number * 10_000,
                    args.drain_s,
                )
                row["rss_mb"] = round(rss_mb(serve.process.pid))
                print(
                    f"{row['concurrency']:>5} {row['events']:>6} {row['ack_p50_ms']:>9} {row['ack_p99_ms']:>9} "
                    f"{row['answers_per_s']:>7} {row['busy']:>5} {row['lost']:>5} {row['twice']:>5} {row['rss_mb']:>7}"
                )
        except Exception:
            print("".join(serve.output[-40:]), file=sys.stderr)  # what the worker said
            raise
        finally:
            serve.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
