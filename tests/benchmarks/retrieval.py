"""Retrieval latency on a 10,000-chunk collection, next to its floor.

    .venv/bin/python -m tests.benchmarks.retrieval [--points 10000] [--json]

The collection is the COVID FAQ's real chunks (real dense, question and BM25 vectors),
repeated with small perturbations of their dense vectors until it holds --points points,
in the embedded engine (Qdrant Edge). The
questions are the COVID paraphrases, each embedded afresh (no cache). Prints the p50/p95
of a full `Retriever.retrieve` (query embedding, BM25 encoding, one hybrid RRF query with
payloads and vectors) and of its floor: one query embedding plus one dense Qdrant query.
Goal: p50 <= 1.5x the floor.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.ops.evals import covid_dataset
from bot.ops.evals.data import percentiles
from bot.settings import load_settings
from ingest.pipeline import Pipeline
from knowledge.access import ALL
from knowledge.embeddings import Embedder
from knowledge.retrieval import Retriever
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder, SparseVector
from knowledge.store import DENSE, QUESTION, SPARSE, Store
from tests.benchmarks import print_figures

NO_TERMS = SparseVector([], [])


def grow(store: Store, points: int, relabel: Callable[[int, dict], dict] | None = None) -> int:
    """Copy the collection's points with jittered vectors until it holds `points`; `relabel`
    (copy number, payload) -> the copy's payload."""
    collection = store.serving_collection()
    originals = list(store.engine.scroll(collection, with_vectors=True))
    sparse = {
        chunk.id: SparseEncoder().encode_document(chunk.embedding_text) for chunk in store.chunks()
    }
    rng = random.Random(7)
    count = len(originals)
    while count < points:
        copies = []
        for point_id, payload, vectors in originals[: points - count]:
            jittered = {SPARSE: sparse[point_id]}
            for name in (DENSE, QUESTION):
                if name in vectors:
                    noisy = [x + rng.gauss(0, 0.02) for x in vectors[name]]
                    norm = sum(x * x for x in noisy) ** 0.5
                    jittered[name] = [x / norm for x in noisy]
            copies.append(
                (
                    str(uuid.uuid4()),
                    jittered,
                    relabel(count + len(copies), payload) if relabel else payload,
                )
            )
        store.engine.upsert(collection, copies)
        count += len(copies)
    return store.engine.count(collection)


@contextmanager
def covid_store(
    points: int, relabel: Callable[[int, dict], dict] | None = None
) -> Iterator[tuple[Store, Embedder, SparseEncoder, list[str]]]:
    """The COVID FAQ ingested into a temporary Qdrant Edge store and grown to `points` by `grow`,
    with the encoders that made it and the paraphrases to ask."""
    embedder = Embedder()
    sparse = SparseEncoder()
    data = load_settings().eval_data_dir  # EVAL_DATA_DIR, by default ../shared/eval
    questions = [line["question"] for line in covid_dataset(data)]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(KnowledgeSettings(qdrant_path=Path(tmp) / "qdrant"))
        try:
            Pipeline(store, embedder, sparse).run([data / "faq" / "covid_faq.csv"])
            grow(store, points, relabel)
            yield store, embedder, sparse, questions
        finally:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with covid_store(args.points) as (store, embedder, sparse, questions):
        size = store.engine.count(store.alias)
        retriever = Retriever(store, embedder, sparse)
        retriever.retrieve("warm-up question", 5, access=ALL)
        full, floor = [], []
        for question in questions:
            embedder.clear_cache()
            started = time.perf_counter()
            retriever.retrieve(question, 5, access=ALL)
            full.append((time.perf_counter() - started) * 1000)
            embedder.clear_cache()
            started = time.perf_counter()
            vector = embedder.embed_query(question + " ")  # a different text: no cache, same cost
            store.search(vector, NO_TERMS, 5, access=ALL, mode="dense")
            floor.append((time.perf_counter() - started) * 1000)
    figures = {
        "points": size,
        "questions": len(questions),
        **{
            f"{name}_{key}": value
            for name, samples in (("retrieve", full), ("floor", floor))
            for key, value in percentiles(samples).items()
        },
    }
    figures["p50_ratio_to_floor"] = round(figures["retrieve_p50_ms"] / figures["floor_p50_ms"], 2)
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
