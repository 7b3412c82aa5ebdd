"""`bot eval cache`: the semantic cache's threshold on the COVID paraphrase pairs."""

from __future__ import annotations

import csv
from pathlib import Path

from bot.evals.data import stable_half
from knowledge.embeddings import Embedder


def eval_cache(data: Path, embedder: Embedder, threshold: float) -> dict:
    """Semantic cache on the COVID paraphrase pairs: similar=1 pairs should hit, similar=0
    must not. Reported per half (split by FAQ question, as for retrieval): the threshold was
    chosen on the calibration half."""
    import numpy as np

    with (data / "faq" / "covid_paraphrases.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    first = np.asarray(embedder.embed_documents([r["question_1"] for r in rows]))
    second = np.asarray(embedder.embed_documents([r["question_2"] for r in rows]))
    similarity = (first * second).sum(axis=1)
    figures = {"threshold": threshold}
    for half in ("calibration", "test"):
        keep = [i for i, r in enumerate(rows) if stable_half(r["question_1"]) == (half == "test")]
        hits = [i for i in keep if similarity[i] >= threshold]
        similar = [i for i in keep if rows[i]["similar"] == "1"]
        right = [i for i in hits if rows[i]["similar"] == "1"]
        figures[half] = {"pairs": len(keep), "hit_rate_on_similar": round(len(right) / max(1, len(similar)), 3),
                         "hit_precision": round(len(right) / len(hits), 3) if hits else None,
                         "wrong_hits": len(hits) - len(right)}
    return figures
