"""`bot eval ...`: measure the parts on public data (../shared/eval), print figures.

Nothing here is tuned on that data: it only measures. See the README for the last figures.
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from guards.input import InputGuard
from guards.pii import find
from guards.policy import BusinessRules
from knowledge.embeddings import Embedder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "eval"
PII_TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN",
             "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS", "PERSON": "PERSON"}


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _csv_column(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


def eval_guards(data: Path, embedder: Embedder) -> dict:
    guard = InputGuard(BusinessRules.load(), embedder.embed_documents, embedder.embed_query)
    attacks = _read_json(data / "guards" / "purplellama_prompt_injection.json")
    in_domain = sorted(set(_csv_column(data / "faq" / "covid_paraphrases.csv", "question_2")))
    borderline = [r["mutated_prompt"] for r in _read_json(data / "guards" / "purplellama_mitre_frr_benign.json")]

    def blocked(texts: list[str]) -> list[bool]:
        embedder.embed_documents(texts)  # batch-embed first, as the bot's retrieval would anyway
        return [guard.check(text).reason == "prompt_injection" for text in texts]

    hits = blocked([a["user_input"] for a in attacks])
    by_variant: dict[str, list[bool]] = defaultdict(list)
    for attack, hit in zip(attacks, hits):
        by_variant[attack["injection_variant"]].append(hit)
    return {
        "injection": {
            "detection_rate": round(sum(hits) / len(hits), 3), "attacks": len(hits),
            "by_variant": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_variant.items())},
            "false_positive_rate_in_domain": round(sum(blocked(in_domain)) / len(in_domain), 4),
            "in_domain_questions": len(in_domain),
            "false_positive_rate_borderline": round(sum(blocked(borderline)) / len(borderline), 4),
            "borderline_prompts": len(borderline),
        },
        "pii": eval_pii(_read_json(data / "guards" / "presidio_synth_pii.json")),
        "latency": guard_latency(guard, embedder, in_domain),
    }


def eval_pii(records: list[dict]) -> dict:
    """Per entity type: recall, precision, and values left in the redacted text."""
    found_right, missed, found_wrong, survived = Counter(), Counter(), Counter(), Counter()
    clean_flagged = clean = 0
    for record in records:
        text = record["full_text"]
        findings = find(text)
        gold = [(PII_TYPES[s["entity_type"]], s["start_position"], s["end_position"], s["entity_value"])
                for s in record["spans"] if s["entity_type"] in PII_TYPES]
        for kind, start, end, value in gold:
            hit = any(f.kind == kind and f.start < end and start < f.end for f in findings)
            (found_right if hit else missed)[kind] += 1
            if not any(f.start <= start and end <= f.end for f in findings):
                survived[kind] += 1
        for f in findings:
            if not any(kind == f.kind and f.start < end and start < f.end for kind, start, end, _ in gold):
                found_wrong[f.kind] += 1
        if not record["spans"]:
            clean += 1
            clean_flagged += bool(findings)
    per_type = {}
    for kind in PII_TYPES.values():
        total = found_right[kind] + missed[kind]
        flagged = found_right[kind] + found_wrong[kind]
        per_type[kind] = {"recall": round(found_right[kind] / total, 3) if total else None,
                          "precision": round(found_right[kind] / flagged, 3) if flagged else None,
                          "entities": total, "values_surviving": survived[kind]}
    return {"by_type": per_type, "false_positive_rate_clean_records": round(clean_flagged / max(1, clean), 3),
            "clean_records": clean}


def guard_latency(guard: InputGuard, embedder: Embedder, questions: list[str]) -> dict:
    """What the input guard adds to a turn. Its embedding is the one retrieval needs anyway
    (Embedder.embed_query caches it), so `added` excludes it; `cold` includes it."""
    added, cold = [], []
    for question in questions[:200]:
        embedder.embed_query(question)
        started = time.perf_counter()
        guard.check(question)
        added.append((time.perf_counter() - started) * 1000)
    for question in questions[:200]:
        variant = question + " please"
        started = time.perf_counter()
        guard.check(variant)
        cold.append((time.perf_counter() - started) * 1000)
    return {"added": _percentiles(added), "cold_with_embedding": _percentiles(cold)}


def render_guards(figures: dict) -> str:
    inj, pii, lat = figures["injection"], figures["pii"], figures["latency"]
    lines = [
        f"injection detection: {inj['detection_rate']:.1%} of {inj['attacks']} PurpleLlama attacks",
        "  by variant: " + ", ".join(f"{k} {v}" for k, v in inj["by_variant"].items()),
        f"false positives: {inj['false_positive_rate_in_domain']:.2%} in-domain ({inj['in_domain_questions']} COVID "
        f"paraphrases), {inj['false_positive_rate_borderline']:.2%} borderline ({inj['borderline_prompts']} MITRE)",
        "PII (Presidio synthetic):",
    ]
    for kind, row in pii["by_type"].items():
        recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        lines.append(f"  {kind:<12} recall {recall}  precision {precision}  surviving {row['values_surviving']}"
                     f"/{row['entities']}")
    lines.append(f"  clean records flagged: {pii['false_positive_rate_clean_records']:.1%} of {pii['clean_records']}")
    lines.append(f"input guard latency: p50 {lat['added']['p50_ms']} ms, p95 {lat['added']['p95_ms']} ms added to a turn; "
                 f"p50 {lat['cold_with_embedding']['p50_ms']} ms with its own embedding")
    return "\n".join(lines)
