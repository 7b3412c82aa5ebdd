"""How long a new process takes to be useful: the CLI's cold start and a new worker's first answer.

    python -m tests.benchmarks.coldstart [--runs 5] [--json]

Over a one-table knowledge base (knowledge/eval/tables/offices.csv, ingested once into a
temporary data dir, then asked once untimed so that what a first run writes there is not
counted), each figure is the median wall time of `--runs` new processes:

- `bot --help` and `ingest status` (goal <= 0.5 s each);
- a cold `bot ask "Which offices have parking?"` with the answer cache off (goal <= 1.5 s);
- a new `bot serve --http` from its start to its first answered `POST /v1/ask` (goal <= 3 s),
  and to its own word that it listens (`ready_s`).

Then `python -X importtime -c "import bot.chain.agent"`: the modules whose import costs most,
themselves included (cumulative), so the slowest imports can be named in the README.
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
import urllib.request
from pathlib import Path

import redis

from bot.web.api_keys import ApiKeys
from tests.benchmarks import print_figures
from tests.conftest import ISOLATED_ENV, ROOT
from tests.serve import READY
from tests.slack_helpers import free_port

BIN = Path(sys.executable).parent
TABLE = ROOT / "knowledge" / "eval" / "tables" / "offices.csv"
QUESTION = "Which offices have parking?"


def clean_env(data_dir: Path, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    return {
        **env,
        "DATA_DIR": str(data_dir),
        "REDIS_PREFIX": prefix,
        "ANSWER_CACHE": "false",
        "HF_HUB_OFFLINE": "1",
    }


def wall_s(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def first_answer_s(env: dict[str, str], key: str) -> tuple[float, float]:
    """(ready, first answer) seconds after `bot serve --http` is started."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(
        [BIN / "bot", "serve", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stderr:
            if READY in line:
                break
        else:
            raise RuntimeError("bot serve exited before it listened")
        ready = time.perf_counter() - start
        body = json.dumps({"question": QUESTION}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/ask",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            json.load(response)
        return ready, time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=60)


def import_breakdown(env: dict[str, str], top: int = 12) -> list[tuple[str, float]]:
    """The `top` most expensive imports of the answer chain, cumulative milliseconds."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bot.chain.agent"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (
            part.strip() for part in line.removeprefix("import time:").split("|")
        )
        if "." not in name.strip() or name.strip().split(".")[0] in {"bot", "knowledge", "guards"}:
            rows.append((name.strip(), int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"bench-coldstart:{os.getpid()}:"
        env = clean_env(Path(tmp), prefix)
        subprocess.run([BIN / "ingest", str(TABLE)], env=env, check=True, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        key = ApiKeys(client, prefix).add("bench")
        # Once, untimed: what a first run writes into the data dir (a model export, say) is set-up,
        # not a cold start.
        subprocess.run(
            [BIN / "bot", "ask", QUESTION], env=env, check=True, stdout=subprocess.DEVNULL
        )
        try:
            runs = {
                "help_s": [],
                "ingest_status_s": [],
                "ask_s": [],
                "ready_s": [],
                "first_answer_s": [],
            }
            for _ in range(args.runs):
                runs["help_s"].append(wall_s([BIN / "bot", "--help"], env))
                runs["ingest_status_s"].append(wall_s([BIN / "ingest", "status"], env))
                runs["ask_s"].append(wall_s([BIN / "bot", "ask", QUESTION], env))
                ready, answered = first_answer_s(env, key)
                runs["ready_s"].append(ready)
                runs["first_answer_s"].append(answered)
            figures = {name: round(statistics.median(values), 2) for name, values in runs.items()}
            figures["imports_ms"] = {name: round(ms) for name, ms in import_breakdown(env)}
        finally:
            keys = list(client.scan_iter(f"{prefix}*"))
            if keys:
                client.delete(*keys)
    figures["load"] = round(os.getloadavg()[0], 1)
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
