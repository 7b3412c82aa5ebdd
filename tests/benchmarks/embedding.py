"""Query embedding on e5 and the whole turn, without a model.

    python -m tests.benchmarks.embedding [--questions 200] [--json]

The questions are COVID paraphrases from ../shared/eval (read here, never copied), one in ten
replaced by an FAQ row's own question (the FAQ path); each is embedded afresh (no cache).

1. Query embedding alone: `Embedder.embed_query` (multilingual-e5-small, 4-bit, knowledge/e5.py).
2. The floor of a turn: one query embedding plus one dense Qdrant query.
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
from pathlib import Path

from bot.chain.agent import Agent
from bot.deps import build_deps
from bot.ops.evals.data import covid_dataset, csv_column, percentiles
from bot.settings import Settings, load_settings
from ingest.pipeline import Pipeline
from knowledge.access import ALL, Asker
from knowledge.embeddings import Embedder
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
    return Settings().replace(
        data_dir=Path(tmp),
        qdrant_path=Path(tmp) / "qdrant",
        answer_cache=False,
        rate_limit_per_minute=0,
        redis_prefix=f"bench:{name}:{time.time_ns()}:",
    )


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


def main() -> None:
    args = arguments(__doc__)
    asked = questions(args.data, args.questions)

    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(tmp, "embedding")
        started = time.perf_counter()
        embedder = Embedder(settings.knowledge.embedding_threads)
        load_ms = (time.perf_counter() - started) * 1000
        store = Store.open(settings.knowledge)
        Pipeline(store, embedder, SparseEncoder()).run([args.data / "faq" / "covid_faq.csv"])
        store.close()
        with bench_deps(settings, embedder) as deps:
            agent = Agent(deps)
            agent.answer("warm-up question", "bench:warm-up")
            embedding, floor, turn = [], [], []
            for number, question in enumerate(asked):
                embedder.clear_cache()
                embedding.append(timed_ms(lambda question=question: embedder.embed_query(question)))
                embedder.clear_cache()
                floor.append(
                    timed_ms(
                        lambda question=question: deps.store.search(
                            embedder.embed_query(question), NO_TERMS, 5, access=ALL, mode="dense"
                        )
                    )
                )
                embedder.clear_cache()
                turn.append(
                    timed_ms(
                        lambda question=question, number=number: agent.answer(
                            question, f"bench:{number}", asker=Asker(channel="bench")
                        )
                    )
                )

    figures = {
        "questions": len(asked),
        "model_load_ms": round(load_ms),
        "embed_query": percentiles(embedding),
        "floor": percentiles(floor),
        "turn": percentiles(turn),
    }
    figures["turn_p50_to_floor"] = round(figures["turn"]["p50_ms"] / figures["floor"]["p50_ms"], 2)
    figures["turn_p95_to_floor"] = round(figures["turn"]["p95_ms"] / figures["floor"]["p95_ms"], 2)
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
