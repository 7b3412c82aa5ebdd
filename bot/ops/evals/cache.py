"""`bot eval cache`: the answer cache (bot/chain/answer_cache.py) as the bot runs it, on question
pairs (the COVID paraphrase pairs, or a JSON-lines file such as knowledge/eval/ko-pairs.jsonl):
the first question's answer is stored, the second question asks. Everything a lookup does is
measured together: normalisation, the exact match, each language's threshold
(SEMANTIC_CACHE_MATCH, SEMANTIC_CACHE_MATCH_KO) and the query embedding."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Mapping
from pathlib import Path

import redis

from bot.chain.answer_cache import AnswerCache
from bot.ops.evals.data import PUBLIC_ACCESS, stable_half
from knowledge.embeddings import Embedder


def covid_pairs(data: Path) -> list[dict]:
    with (data / "faq" / "covid_paraphrases.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_pairs(path: Path) -> list[dict]:
    """JSON lines of {"question_1", "question_2", "similar": 1 or 0}."""
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for number, pair in enumerate(pairs, start=1):
        if not {"question_1", "question_2", "similar"} <= pair.keys():
            raise ValueError(f"{path}:{number}: a pair needs question_1, question_2 and similar")
    return [{**pair, "similar": str(pair["similar"])} for pair in pairs]


def eval_cache(
    rows: list[dict],
    embedder: Embedder,
    thresholds: Mapping[str, float],
    client: redis.Redis,
    prefix: str,
) -> dict:
    """similar=1 pairs should be served the stored answer, similar=0 must not be. Reported per
    half (split by the first question, as for retrieval): the threshold was chosen on the
    calibration half. Each pair gets a cache of its own (its own prompt version) under a fresh
    key prefix, deleted afterwards. `thresholds` per language, English's required."""
    others = {language: t for language, t in thresholds.items() if language != "en"}
    prefix = f"{prefix}eval:cache:{uuid.uuid4().hex[:12]}:"
    cache = AnswerCache(
        client,
        prefix,
        embedder.embed_query,
        thresholds["en"],
        current_hashes=lambda ids: {},
        other_languages=others,
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
    figures: dict = {"thresholds": dict(thresholds)}
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
