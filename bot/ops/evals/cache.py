"""`bot eval cache`: the answer cache (bot/chain/answer_cache.py) as the bot runs it, on the COVID paraphrase
pairs: the first question's answer is stored, the second question asks. Everything a lookup does
is measured together: normalisation, the exact match, the rule that only English is matched by
meaning, the query embedding and SEMANTIC_CACHE_MATCH."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import redis

from bot.chain.answer_cache import AnswerCache
from bot.ops.evals.data import PUBLIC_ACCESS, stable_half
from knowledge.embeddings import Embedder


def eval_cache(
    data: Path, embedder: Embedder, threshold: float, client: redis.Redis, prefix: str
) -> dict:
    """similar=1 pairs should be served the stored answer, similar=0 must not be. Reported per
    half (split by FAQ question, as for retrieval): the threshold was chosen on the calibration
    half. Each pair gets a cache of its own (its own prompt version) under a fresh key prefix,
    deleted afterwards."""
    with (data / "faq" / "covid_paraphrases.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    prefix = f"{prefix}eval:cache:{uuid.uuid4().hex[:12]}:"
    cache = AnswerCache(
        client, prefix, embedder.embed_query, threshold, current_hashes=lambda ids: {}
    )
    served, kinds = [], []
    try:
        for number, row in enumerate(rows):
            version = f"pair{number}"
            cache.put(row["question_1"], {"text": row["question_1"], "sources": []}, version)
            hit = cache.get(row["question_2"], version, PUBLIC_ACCESS)
            served.append(hit is not None)
            kinds.append(hit.kind if hit else None)
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    figures: dict = {"threshold": threshold}
    for half in ("calibration", "test"):
        keep = [i for i, r in enumerate(rows) if stable_half(r["question_1"]) == (half == "test")]
        hits = [i for i in keep if served[i]]
        similar = [i for i in keep if rows[i]["similar"] == "1"]
        right = [i for i in hits if rows[i]["similar"] == "1"]
        figures[half] = {
            "pairs": len(keep),
            "hit_rate_on_similar": round(len(right) / max(1, len(similar)), 3),
            "hit_precision": round(len(right) / len(hits), 3) if hits else None,
            "hits": len(hits),
            "wrong_hits": len(hits) - len(right),
            "exact_hits": sum(kinds[i] == "exact" for i in hits),
        }
    return figures
