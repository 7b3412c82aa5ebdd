"""Query embedding on torch and on ONNX Runtime, and the whole turn on each, without a model.

    python -m tests.benchmarks.embedding [--questions 200] [--json]

The questions are COVID paraphrases from ../shared/eval (read here, never copied), one in ten
replaced by an FAQ row's own question (the FAQ path). Torch and ONNX take turns question by
question, so both meet the same machine load; each question is embedded afresh (no cache).

1. Query embedding alone: `Embedder.embed_query` on torch and on onnx (goal: onnx p50 <= 8 ms).
2. The floor of a turn: one query embedding plus one dense Qdrant query, on onnx.
3. A whole turn without a model (`Agent.answer`, extractive mode, answer cache off) over the
   COVID FAQ in Qdrant Edge: input guard, retrieval, the answer, memory, usage, turn records in
   Redis. Goal: p50 <= 1.5x the floor, p95 <= 2x.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bot.chain.agent import Agent
from bot.deps import build_deps
from bot.ops.evals.data import covid_dataset, csv_column, percentiles
from bot.settings import Settings, load_settings
from guards.input import InputGuard
from ingest.pipeline import Pipeline
from knowledge.access import ALL, Asker
from knowledge.embeddings import Embedder
from knowledge.retrieval import Retriever
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.benchmarks import print_figures
from tests.benchmarks.retrieval import NO_TERMS


def questions(data: Path, count: int) -> list[str]:
    paraphrases = list(dict.fromkeys(line["question"] for line in covid_dataset(data)))
    faq = csv_column(data / "faq" / "covid_faq.csv", "question")
    chosen = paraphrases[: count - count // 10] + faq[: count // 10]
    random.Random(20).shuffle(chosen)
    return chosen


def arguments(doc: str) -> argparse.Namespace:
    """The options the benchmarks on these questions share."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--data", type=Path, default=load_settings(env_file=None).eval_data_dir)
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def timed_ms(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def bench_settings(tmp: str, name: str) -> Settings:
    """A throwaway bot's settings: its files in `tmp`, its Redis keys under a prefix of their
    own, no answer cache (every turn does the whole work) and no rate limit."""
    return Settings().replace(data_dir=Path(tmp), qdrant_path=Path(tmp) / "qdrant", answer_cache=False,
                              rate_limit_per_minute=0, redis_prefix=f"bench:{name}:{time.time_ns()}:")


@contextmanager
def bench_deps(settings: Settings, embedder: Embedder) -> Iterator:
    """The bot's clients on `settings`; afterwards the run's Redis keys are deleted and the clients closed."""
    deps = build_deps(settings, embedder=embedder)
    try:
        yield deps
    finally:
        keys = list(deps.redis.scan_iter(f"{settings.redis_prefix}*"))
        if keys:
            deps.redis.delete(*keys)
        deps.close()


def on(deps, embedder: Embedder):
    """The same clients, with questions embedded by `embedder`."""
    return replace(deps, embedder=embedder, retriever=Retriever(deps.store, embedder, SparseEncoder()),
                   input_guard=InputGuard(deps.rules, embedder.embed_documents, embedder.embed_query))


def main() -> None:
    args = arguments(__doc__)
    asked = questions(args.data, args.questions)

    with tempfile.TemporaryDirectory() as tmp:
        torch = Embedder()
        started = time.perf_counter()
        onnx = Embedder(onnx_dir=Path(tmp) / "onnx")
        export_ms = (time.perf_counter() - started) * 1000
        if onnx.query_backend != "onnx":
            raise SystemExit("the ONNX query model could not be made; see the log above")

        embedding = {"torch": [], "onnx": []}
        for question in asked:
            for name, embedder in (("torch", torch), ("onnx", onnx)):
                embedder.clear_cache()
                embedding[name].append(timed_ms(lambda embedder=embedder, question=question: embedder.embed_query(question)))

        settings = bench_settings(tmp, "embedding")
        store = Store.open(settings.knowledge)
        Pipeline(store, torch, SparseEncoder()).run([args.data / "faq" / "covid_faq.csv"])
        store.close()
        with bench_deps(settings, onnx) as deps:
            agents = {"torch": Agent(on(deps, torch)), "onnx": Agent(deps)}
            for agent in agents.values():
                agent.answer("warm-up question", "bench:warm-up")
            floor, turn = [], {"torch": [], "onnx": []}
            for number, question in enumerate(asked):
                onnx.clear_cache()
                floor.append(timed_ms(lambda question=question: deps.store.search(onnx.embed_query(question), NO_TERMS, 5, access=ALL, mode="dense")))
                for name, agent in agents.items():
                    agent.deps.embedder.clear_cache()
                    turn[name].append(timed_ms(lambda agent=agent, question=question, thread=f"bench:{name}:{number}":
                                               agent.answer(question, thread, asker=Asker(channel="bench"))))

    figures = {"questions": len(asked), "onnx_export_and_check_ms": round(export_ms),
               **{f"embed_{name}": percentiles(samples) for name, samples in embedding.items()},
               "floor_onnx": percentiles(floor),
               **{f"turn_{name}": percentiles(samples) for name, samples in turn.items()}}
    figures["turn_onnx_p50_to_floor"] = round(figures["turn_onnx"]["p50_ms"] / figures["floor_onnx"]["p50_ms"], 2)
    figures["turn_onnx_p95_to_floor"] = round(figures["turn_onnx"]["p95_ms"] / figures["floor_onnx"]["p95_ms"], 2)
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
