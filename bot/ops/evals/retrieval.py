"""`bot eval retrieval`: recall@1/5/10, MRR and latency of hybrid, dense and sparse search on a
dataset of questions with the passages that answer them, per language of the question (the
embedding model reads English only, so one average would hide how Korean questions fare)."""

from __future__ import annotations

import time
from typing import get_args

from bot.ops.evals.data import percentiles
from knowledge.access import Access
from knowledge.language import Language, language_of

MODES = ("hybrid", "dense", "sparse")
CUTOFFS = (1, 5, 10)


def is_relevant(passage, relevant: list[str]) -> bool:
    """A relevant item may name a passage by its id, document, source, title, FAQ question, or
    heading ("Title > Section", which names one section of a page)."""
    chunk = passage.chunk
    return bool(
        {chunk.id, chunk.doc_id, chunk.source, chunk.title, chunk.question, chunk.heading}
        & set(relevant)
    )


def by_language(lines: list[dict]) -> dict[str, list[dict]]:
    """The lines grouped by their question's language (en, ko); empty groups left out."""
    groups: dict[str, list[dict]] = {lang: [] for lang in get_args(Language)}
    for line in lines:
        groups[language_of(line["question"])].append(line)
    return {lang: group for lang, group in groups.items() if group}


def eval_retrieval(retriever, dataset: list[dict], access: Access, modes=MODES) -> dict:
    return {
        "questions": len(dataset),
        "languages": {
            lang: {"questions": len(lines), "modes": _modes(retriever, lines, modes, access)}
            for lang, lines in by_language(dataset).items()
        },
    }


def _modes(retriever, dataset: list[dict], modes, access: Access) -> dict:
    figures = {}
    for mode in modes:
        retriever.embedder.clear_cache()  # each mode pays for its own query embedding
        ranks, latencies = [], []
        for line in dataset:
            started = time.perf_counter()
            passages = retriever.retrieve(line["question"], max(CUTOFFS), mode=mode, access=access)
            latencies.append((time.perf_counter() - started) * 1000)
            ranks.append(next((p.rank for p in passages if is_relevant(p, line["relevant"])), None))
        figures[mode] = {
            **{
                f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / len(ranks), 3)
                for k in CUTOFFS
            },
            "mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 3),
            **percentiles(latencies),
        }
    return figures


def render_retrieval(figures: dict) -> str:
    header = f"{'mode':<8}" + "".join(
        f"{name:>10}" for name in ("R@1", "R@5", "R@10", "MRR", "p50 ms", "p95 ms")
    )
    lines = []
    for lang, group in figures["languages"].items():
        lines += [f"{lang}: {group['questions']} questions", header]
        for mode, row in group["modes"].items():
            values = [
                row["recall@1"],
                row["recall@5"],
                row["recall@10"],
                row["mrr"],
                row["p50_ms"],
                row["p95_ms"],
            ]
            lines.append(f"{mode:<8}" + "".join(f"{v:>10}" for v in values))
    return "\n".join(lines)
