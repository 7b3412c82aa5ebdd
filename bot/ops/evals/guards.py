"""`bot eval guards`: the input guard against PurpleLlama's attacks and borderline prompts, both
guards end to end on two knowledge bases, PII redaction on Presidio's synthetic records, what
each guard adds to a turn, and the same checks in Korean on the project's own set (guards_ko.py)."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from bot.ops.evals.data import PUBLIC_ACCESS, SAMPLE_KB, csv_column, percentiles, read_json
from bot.ops.evals.guards_ko import eval_korean, render_korean
from guards.input import InputGuard
from guards.pii import find
from guards.policy import BusinessRules
from ingest.pipeline import Pipeline
from knowledge.embeddings import Embedder
from knowledge.language import language_of
from knowledge.retrieval import Retriever
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store

PII_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "PERSON": "PERSON",
}
"""Presidio's entity names -> ours."""


def eval_guards(data: Path, embedder: Embedder) -> dict:
    guard = InputGuard(BusinessRules.load(), embedder.embed_questions, embedder.embed_query)
    attacks = read_json(data / "guards" / "purplellama_prompt_injection.json")
    in_domain = sorted(set(csv_column(data / "faq" / "covid_paraphrases.csv", "question_2")))
    borderline = [
        r["mutated_prompt"]
        for r in read_json(data / "guards" / "purplellama_mitre_frr_benign.json")
    ]

    def blocked(texts: list[str]) -> list[bool]:
        return [guard.check(text).reason == "prompt_injection" for text in texts]

    hits = blocked([a["user_input"] for a in attacks])
    by_variant: dict[str, list[bool]] = defaultdict(list)
    for attack, hit in zip(attacks, hits, strict=True):
        by_variant[attack["injection_variant"]].append(hit)
    return {
        "injection": {
            "detection_rate": round(sum(hits) / len(hits), 3),
            "attacks": len(hits),
            "by_variant": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_variant.items())},
            "false_positive_rate_in_domain": round(sum(blocked(in_domain)) / len(in_domain), 4),
            "in_domain_questions": len(in_domain),
            "false_positive_rate_borderline": round(sum(blocked(borderline)) / len(borderline), 4),
            "borderline_prompts": len(borderline),
        },
        # The same attacks against two deployments: the sample company handbook, and the COVID
        # FAQ, whose paraphrases are the in-domain questions it must still answer.
        "end_to_end": {
            "sample_knowledge_base": end_to_end(
                guard, [a["user_input"] for a in attacks], [], embedder, SAMPLE_KB
            ),
            "covid_faq": end_to_end(
                guard,
                [a["user_input"] for a in attacks],
                in_domain,
                embedder,
                data / "faq" / "covid_faq.csv",
            ),
        },
        "pii": eval_pii(read_json(data / "guards" / "presidio_synth_pii.json")),
        "latency": {
            **guard_latency(guard, embedder, in_domain),
            "output": output_guard_latency(csv_column(data / "faq" / "covid_faq.csv", "answer")),
        },
        "korean": eval_korean(guard, embedder.embed_query),
    }


def end_to_end(
    guard: InputGuard,
    attacks: list[str],
    in_domain: list[str],
    embedder: Embedder,
    knowledge_base: Path,
) -> dict:
    """What the bot would do with `knowledge_base` ingested: the share of attacks it does not
    answer (blocked or refused by the input guard, or refused because no passage reaches
    MIN_RELEVANCE), and the share of in-domain questions it does answer.

    Many PurpleLlama inputs are harmless out of their test's system prompt ("How do I make
    moussaka?" against "only talk about X"): no detector can call them injections, and a
    knowledge bot refuses them anyway because its documents do not answer them."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = KnowledgeSettings(qdrant_path=Path(tmp) / "qdrant")
        store = Store.open(settings)
        try:
            Pipeline(store, embedder, SparseEncoder()).run([knowledge_base])
            retriever = Retriever(store, embedder, SparseEncoder())

            def answered(text: str) -> bool:
                verdict = guard.check(text)
                best = (
                    retriever.retrieve(verdict.text, 1, access=PUBLIC_ACCESS)
                    if verdict.reason is None
                    else []
                )
                return bool(best) and best[0].score >= settings.min_relevance_for(
                    language_of(verdict.text)
                )

            stopped = sum(not answered(text) for text in attacks)
            served = sum(answered(text) for text in in_domain)
        finally:
            store.close()
    return {
        "attacks_stopped": round(stopped / len(attacks), 3),
        "in_domain_answered": round(served / len(in_domain), 3) if in_domain else None,
    }


def eval_pii(records: list[dict]) -> dict:
    """Per entity type: recall, precision, and values left in the redacted text."""
    found_right, missed, found_wrong, survived = Counter(), Counter(), Counter(), Counter()
    clean_flagged = clean = 0
    for record in records:
        text = record["full_text"]
        findings = find(text)
        gold = [
            (PII_TYPES[s["entity_type"]], s["start_position"], s["end_position"])
            for s in record["spans"]
            if s["entity_type"] in PII_TYPES
        ]
        for kind, start, end in gold:
            hit = any(f.kind == kind and f.start < end and start < f.end for f in findings)
            (found_right if hit else missed)[kind] += 1
            if not any(f.start <= start and end <= f.end for f in findings):
                survived[kind] += 1
        for f in findings:
            if not any(
                kind == f.kind and f.start < end and start < f.end for kind, start, end in gold
            ):
                found_wrong[f.kind] += 1
        if not record["spans"]:
            clean += 1
            clean_flagged += bool(findings)
    per_type = {}
    for kind in PII_TYPES.values():
        total = found_right[kind] + missed[kind]
        flagged = found_right[kind] + found_wrong[kind]
        per_type[kind] = {
            "recall": round(found_right[kind] / total, 3) if total else None,
            "precision": round(found_right[kind] / flagged, 3) if flagged else None,
            "entities": total,
            "values_surviving": survived[kind],
        }
    return {
        "by_type": per_type,
        "false_positive_rate_clean_records": round(clean_flagged / max(1, clean), 3),
        "clean_records": clean,
    }


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
    return {"added": percentiles(added), "cold_with_embedding": percentiles(cold)}


def output_guard_latency(passages: list[str]) -> dict:
    """What validating an LLM answer costs (guardrails schema, citations, grounding, PII and
    secrets, business rules): an answer that quotes the first sentences of its one passage."""
    from guards.output import OutputGuard  # guardrails: ~7 s, only for the output guard's figures

    guard = OutputGuard()
    passages = passages[:200]
    replies = [
        json.dumps(
            {
                "answer": " ".join(re.split(r"(?<=[.!?])\s+", p.strip())[:2]) + " [1]",
                "sources": [1],
                "confidence": 0.9,
            }
        )
        for p in passages
    ]
    samples, passed, caught = [], 0, 0
    for i, (passage, reply) in enumerate(zip(passages, replies, strict=True)):
        started = time.perf_counter()
        passed += guard.check(reply, [passage]).passed
        samples.append((time.perf_counter() - started) * 1000)
        # The same reply checked against another row's passage: an answer its source does not say.
        caught += not guard.check(reply, [passages[i - 1]]).passed
    # A faithful quote that fails is a validator rejecting a good answer.
    return {
        **percentiles(samples),
        "faithful_answers_passed": round(passed / len(passages), 3),
        "unfaithful_answers_caught": round(caught / len(passages), 3),
    }


def render_guards(figures: dict) -> str:
    inj, pii, lat = figures["injection"], figures["pii"], figures["latency"]
    sample, covid = (
        figures["end_to_end"]["sample_knowledge_base"],
        figures["end_to_end"]["covid_faq"],
    )
    lines = [
        f"injection detection: {inj['detection_rate']:.1%} of {inj['attacks']} PurpleLlama attacks",
        "  by variant: " + ", ".join(f"{k} {v}" for k, v in inj["by_variant"].items()),
        f"false positives: {inj['false_positive_rate_in_domain']:.2%} in-domain ({inj['in_domain_questions']} COVID "
        f"paraphrases), {inj['false_positive_rate_borderline']:.2%} borderline ({inj['borderline_prompts']} MITRE)",
        f"end to end, attacks not answered: {sample['attacks_stopped']:.1%} with the sample knowledge base, "
        f"{covid['attacks_stopped']:.1%} with the COVID FAQ (which answers {covid['in_domain_answered']:.1%} "
        "of its in-domain questions)",
        "PII (Presidio synthetic):",
    ]
    for kind, row in pii["by_type"].items():
        recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        lines.append(
            f"  {kind:<12} recall {recall}  precision {precision}  surviving {row['values_surviving']}"
            f"/{row['entities']}"
        )
    lines.append(
        f"  clean records flagged: {pii['false_positive_rate_clean_records']:.1%} of {pii['clean_records']}"
    )
    lines.append(
        f"input guard latency: p50 {lat['added']['p50_ms']} ms, p95 {lat['added']['p95_ms']} ms added to a turn; "
        f"p50 {lat['cold_with_embedding']['p50_ms']} ms with its own embedding"
    )
    lines.append(
        f"output guard latency (guardrails schema and validators, per LLM answer): p50 "
        f"{lat['output']['p50_ms']} ms, p95 {lat['output']['p95_ms']} ms; faithful answers passed "
        f"{lat['output']['faithful_answers_passed']:.1%}, answers citing a passage that does not say "
        f"them caught {lat['output']['unfaithful_answers_caught']:.1%}"
    )
    return "\n".join(lines + render_korean(figures["korean"]))
