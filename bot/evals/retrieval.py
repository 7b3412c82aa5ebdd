"""`bot eval retrieval`: recall@1/5/10, MRR and latency of hybrid, dense and sparse search on a
dataset of questions with the passages that answer them."""

from __future__ import annotations

import time

from bot.evals.data import percentiles

MODES = ("hybrid", "dense", "sparse")
CUTOFFS = (1, 5, 10)


def is_relevant(passage, relevant: list[str]) -> bool:
    """A relevant item may name a passage by its id, document, source, title or FAQ question."""
    chunk = passage.chunk
    return bool({chunk.id, chunk.doc_id, chunk.source, chunk.title, chunk.question} & set(relevant))


def eval_retrieval(retriever, dataset: list[dict], modes=MODES) -> dict:
    figures = {}
    for mode in modes:
        retriever.embedder.clear_cache()  # each mode pays for its own query embedding
        ranks, latencies = [], []
        for line in dataset:
            started = time.perf_counter()
            passages = retriever.retrieve(line["question"], max(CUTOFFS), mode=mode)
            latencies.append((time.perf_counter() - started) * 1000)
            ranks.append(next((p.rank for p in passages if is_relevant(p, line["relevant"])), None))
        figures[mode] = {
            **{f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / len(ranks), 3) for k in CUTOFFS},
            "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 3),
            **percentiles(latencies),
        }
    return {"questions": len(dataset), "modes": figures}


def render_retrieval(figures: dict) -> str:
    header = f"{'mode':<8}" + "".join(f"{name:>10}" for name in ("R@1", "R@5", "R@10", "MRR", "p50 ms", "p95 ms"))
    lines = [f"{figures['questions']} questions", header]
    for mode, row in figures["modes"].items():
        values = [row["recall@1"], row["recall@5"], row["recall@10"], row["mrr"], row["p50_ms"], row["p95_ms"]]
        lines.append(f"{mode:<8}" + "".join(f"{v:>10}" for v in values))
    return "\n".join(lines)
