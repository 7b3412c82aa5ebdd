"""What serving a verified answer costs over the answer cache's path (goal: <= 2 ms at p50).

    python -m tests.benchmarks.verified [--questions 100] [--json]

The sample knowledge base (knowledge/sample) is ingested into a throwaway store. Its FAQ
questions are asked twice through the whole chain (`Agent.answer`, extractive, write to Redis
included): once by a bot whose answer cache holds them (the cache path: an exact hit, checked
against the best passage) and once by a bot with verified answers for them (no cache). Query
embeddings are warm in both (each question asked once first), so the paths differ only in
their own work. Also each lookup alone: `VerifiedAnswers.match` and `AnswerCache.get`.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile

from bot.chain.agent import Agent
from bot.chain.verified import Verified
from bot.ops.evals.data import PUBLIC_ACCESS, SAMPLE_KB, percentiles
from ingest.pipeline import Pipeline
from knowledge.embeddings import Embedder
from knowledge.sparse import SparseEncoder
from tests.benchmarks import print_figures
from tests.benchmarks.embedding import bench_deps, bench_settings, timed_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with (SAMPLE_KB / "faq.csv").open(newline="", encoding="utf-8") as handle:
        asked = [row["question"] for row in csv.DictReader(handle)]
    asked = (asked * (args.questions // len(asked) + 1))[: args.questions]
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        cached = bench_settings(tmp, "verified-cache").replace(answer_cache=True)
        with bench_deps(cached, embedder) as deps:
            Pipeline(deps.store, embedder, SparseEncoder()).run([SAMPLE_KB])
            deps.verified = None
            agent = Agent(deps)
            for question in dict.fromkeys(asked):
                agent.answer(question, None)  # fills the cache (and warms the embeddings)
            cache_turn = [timed_ms(lambda q=q: agent.answer(q, None)) for q in asked]
            prompt = deps.variants.pick("x").version
            cache_lookup = [
                timed_ms(lambda q=q: deps.cache.get(q, prompt, PUBLIC_ACCESS)) for q in asked
            ]
            modes = {agent.answer(q, None).mode for q in asked}
        verified = bench_settings(tmp, "verified-served").replace(answer_cache=False)
        with bench_deps(verified, embedder) as deps:
            agent = Agent(deps)
            for question in dict.fromkeys(asked):
                deps.verified.save(Verified(question, f"Verified: {question}", "UBENCH"))
            served = {agent.answer(q, None).mode for q in asked}
            verified_turn = [timed_ms(lambda q=q: agent.answer(q, None)) for q in asked]
            verified_lookup = [
                timed_ms(lambda q=q: deps.verified.match(q, PUBLIC_ACCESS)) for q in asked
            ]
    cache_p50, verified_p50 = (
        percentiles(cache_turn)["p50_ms"],
        percentiles(verified_turn)["p50_ms"],
    )
    figures = {
        "questions": len(asked),
        "cache_path_modes": sorted(modes),
        "verified_path_modes": sorted(served),
        "turn_cache_hit": percentiles(cache_turn),
        "turn_verified": percentiles(verified_turn),
        "verified_over_cache_p50_ms": round(verified_p50 - cache_p50, 2),
        "goal_met": verified_p50 - cache_p50 <= 2.0,
        "lookup_cache": percentiles(cache_lookup),
        "lookup_verified": percentiles(verified_lookup),
        "load": os.getloadavg()[0],
    }
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
