"""What the access filter costs: retrieval on a 10,000-point collection, filtered and not.

    .venv/bin/python -m tests.benchmarks.access [--points 10000] [--restricted 0.3] [--json]

The collection is the retrieval benchmark's (the COVID FAQ's real chunks, copied with
jittered vectors up to --points, Qdrant Edge), with --restricted of the copies given an
audience other than everyone (one of 20 channels, 50 users or 5 user groups). Each COVID
paraphrase is embedded once; then, alternating so both see the same machine, the hybrid query
runs unfiltered (`ALL`, what the store did before access control) and filtered as an asker in
one channel, in one user group (`Access` of everyone + channel + user + group), the query
alone (vectors computed beforehand) and the whole `Retriever.retrieve` (embedding the question
afresh, as an answer does). Prints the p50/p95 of each and the p50 ratios. Goal: filtered
retrieval p50 within 10% of unfiltered.
"""

from __future__ import annotations

import argparse
import os
import random
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.ops.evals.data import percentiles
from knowledge.access import ALL, Access, Asker
from knowledge.retrieval import Retriever
from tests.benchmarks import print_figures
from tests.benchmarks.retrieval import covid_store

ASKER = Asker(user="U7", channel="C3", usergroups=frozenset({"S1"}))


def audience_for(share: float, seed: int = 11):
    rng = random.Random(seed)
    choices = (
        [f"channel:C{i}" for i in range(20)]
        + [f"user:U{i}" for i in range(50)]
        + [f"usergroup:S{i}" for i in range(5)]
    )

    def relabel(_: int, payload: dict) -> dict:
        audience = [rng.choice(choices)] if rng.random() < share else ["everyone"]
        return {**payload, "audience": audience}

    return relabel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument(
        "--restricted", type=float, default=0.3, help="share of points not for everyone"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    filtered_access = Access.of(ASKER)
    timings: dict[str, list[float]] = {
        "unfiltered": [],
        "filtered": [],
        "retrieve_unfiltered": [],
        "retrieve_filtered": [],
    }
    with covid_store(args.points, audience_for(args.restricted)) as (
        store,
        embedder,
        sparse,
        questions,
    ):
        queries = [(embedder.embed_query(q), sparse.encode_query(q)) for q in questions]
        size = store.engine.count(store.alias)
        visible = sum(
            filtered_access.allows(payload) for _, payload, _ in store.engine.scroll(store.alias)
        )
        for dense, terms in queries[:5]:  # warm-up: shards loaded, caches filled
            store.search(dense, terms, 5, access=ALL)
            store.search(dense, terms, 5, access=filtered_access)
        for round_number in range(3):
            for number, (dense, terms) in enumerate(queries):
                order = [("unfiltered", ALL), ("filtered", filtered_access)]
                for name, access in order if (number + round_number) % 2 else order[::-1]:
                    started = time.perf_counter()
                    store.search(dense, terms, 5, access=access)
                    timings[name].append((time.perf_counter() - started) * 1000)
        retriever = Retriever(store, embedder, sparse)
        for number, question in enumerate(questions):  # the whole retrieval: embedding included
            order = [("retrieve_unfiltered", ALL), ("retrieve_filtered", filtered_access)]
            for name, access in order if number % 2 else order[::-1]:
                embedder.clear_cache()
                started = time.perf_counter()
                retriever.retrieve(question, 5, access=access)
                timings[name].append((time.perf_counter() - started) * 1000)
    figures = {"points": size, "visible_to_asker": visible, "queries": len(timings["filtered"])}
    for name, samples in timings.items():
        figures.update({f"{name}_{key}": value for key, value in percentiles(samples).items()})
    figures["query_p50_ratio"] = round(figures["filtered_p50_ms"] / figures["unfiltered_p50_ms"], 3)
    figures["retrieve_p50_ratio"] = round(
        figures["retrieve_filtered_p50_ms"] / figures["retrieve_unfiltered_p50_ms"], 3
    )
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
