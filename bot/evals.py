"""`bot eval ...`: measure the parts on public data (../shared/eval), print figures.

Nothing here is tuned on that data: it only measures. See the README for the last figures.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from guards.input import InputGuard
from guards.pii import find
from guards.policy import BusinessRules
from knowledge.embeddings import Embedder

SAMPLE_KB = Path(__file__).resolve().parents[1] / "knowledge" / "sample"

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
        # The same attacks against two deployments: the sample company handbook, and the COVID
        # FAQ, whose paraphrases are the in-domain questions it must still answer.
        "end_to_end": {
            "sample_knowledge_base": end_to_end(guard, [a["user_input"] for a in attacks], [], embedder, SAMPLE_KB),
            "covid_faq": end_to_end(guard, [a["user_input"] for a in attacks], in_domain, embedder,
                                    data / "faq" / "covid_faq.csv"),
        },
        "pii": eval_pii(_read_json(data / "guards" / "presidio_synth_pii.json")),
        "latency": {**guard_latency(guard, embedder, in_domain),
                    "output": output_guard_latency(_csv_column(data / "faq" / "covid_faq.csv", "answer"))},
    }


def end_to_end(guard: InputGuard, attacks: list[str], in_domain: list[str], embedder: Embedder,
               knowledge_base: Path) -> dict:
    """What the bot would do with `knowledge_base` ingested: the share of attacks it does not
    answer (blocked or refused by the input guard, or refused because no passage reaches
    MIN_RELEVANCE), and the share of in-domain questions it does answer.

    Many PurpleLlama inputs are harmless out of their test's system prompt ("How do I make
    moussaka?" against "only talk about X"): no detector can call them injections, and a
    knowledge bot refuses them anyway because its documents do not answer them."""
    import tempfile

    from ingest.pipeline import Pipeline
    from knowledge.retrieval import Retriever
    from knowledge.settings import Settings
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(qdrant_path=Path(tmp) / "qdrant")
        store = Store.open(settings)
        try:
            Pipeline(store, embedder, SparseEncoder()).run([knowledge_base])
            retriever = Retriever(store, embedder, SparseEncoder())

            def answered(text: str) -> bool:
                verdict = guard.check(text)
                best = retriever.retrieve(verdict.text, 1) if verdict.reason is None else []
                return bool(best) and best[0].score >= settings.min_relevance

            stopped = sum(not answered(text) for text in attacks)
            served = sum(answered(text) for text in in_domain)
        finally:
            store.close()
    return {"attacks_stopped": round(stopped / len(attacks), 3),
            "in_domain_answered": round(served / len(in_domain), 3) if in_domain else None}


def eval_pii(records: list[dict]) -> dict:
    """Per entity type: recall, precision, and values left in the redacted text."""
    found_right, missed, found_wrong, survived = Counter(), Counter(), Counter(), Counter()
    clean_flagged = clean = 0
    for record in records:
        text = record["full_text"]
        findings = find(text)
        gold = [(PII_TYPES[s["entity_type"]], s["start_position"], s["end_position"])
                for s in record["spans"] if s["entity_type"] in PII_TYPES]
        for kind, start, end in gold:
            hit = any(f.kind == kind and f.start < end and start < f.end for f in findings)
            (found_right if hit else missed)[kind] += 1
            if not any(f.start <= start and end <= f.end for f in findings):
                survived[kind] += 1
        for f in findings:
            if not any(kind == f.kind and f.start < end and start < f.end for kind, start, end in gold):
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


def output_guard_latency(passages: list[str]) -> dict:
    """What validating an LLM answer costs (guardrails schema, citations, grounding, PII and
    secrets, business rules): an answer that quotes the first sentences of its one passage."""
    from guards.output import OutputGuard

    guard = OutputGuard()
    passages = passages[:200]
    replies = [json.dumps({"answer": " ".join(re.split(r"(?<=[.!?])\s+", p.strip())[:2]) + " [1]",
                           "sources": [1], "confidence": 0.9}) for p in passages]
    samples, passed, caught = [], 0, 0
    for i, (passage, reply) in enumerate(zip(passages, replies)):
        started = time.perf_counter()
        passed += guard.check(reply, [passage]).passed
        samples.append((time.perf_counter() - started) * 1000)
        # The same reply checked against another row's passage: an answer its source does not say.
        caught += not guard.check(reply, [passages[i - 1]]).passed
    # A faithful quote that fails is a validator rejecting a good answer.
    return {**_percentiles(samples), "faithful_answers_passed": round(passed / len(passages), 3),
            "unfaithful_answers_caught": round(caught / len(passages), 3)}


def render_guards(figures: dict) -> str:
    inj, pii, lat = figures["injection"], figures["pii"], figures["latency"]
    sample, covid = figures["end_to_end"]["sample_knowledge_base"], figures["end_to_end"]["covid_faq"]
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
        lines.append(f"  {kind:<12} recall {recall}  precision {precision}  surviving {row['values_surviving']}"
                     f"/{row['entities']}")
    lines.append(f"  clean records flagged: {pii['false_positive_rate_clean_records']:.1%} of {pii['clean_records']}")
    lines.append(f"input guard latency: p50 {lat['added']['p50_ms']} ms, p95 {lat['added']['p95_ms']} ms added to a turn; "
                 f"p50 {lat['cold_with_embedding']['p50_ms']} ms with its own embedding")
    lines.append(f"output guard latency (guardrails schema and validators, per LLM answer): p50 "
                 f"{lat['output']['p50_ms']} ms, p95 {lat['output']['p95_ms']} ms; faithful answers passed "
                 f"{lat['output']['faithful_answers_passed']:.1%}, answers citing a passage that does not say "
                 f"them caught {lat['output']['unfaithful_answers_caught']:.1%}")
    return "\n".join(lines)


# --- retrieval ---------------------------------------------------------------------------

MODES = ("hybrid", "dense", "sparse")
CUTOFFS = (1, 5, 10)


def covid_dataset(data: Path, half: str = "all") -> list[dict]:
    """The recipe: every positive COVID paraphrase, with the FAQ question it paraphrases as
    the relevant item. `half` splits by FAQ row (a stable hash), so that thresholds are
    calibrated on one half of the FAQs and reported on the other."""
    with (data / "faq" / "covid_paraphrases.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["similar"] == "1"]
    lines = [{"question": r["question_2"], "relevant": [r["question_1"]]} for r in rows]
    if half == "all":
        return lines
    keep = 0 if half == "calibration" else 1
    return [line for line in lines if _stable_half(line["relevant"][0]) == keep]


def _stable_half(text: str) -> int:
    import hashlib

    return hashlib.sha256(text.encode()).digest()[0] % 2


def read_dataset(path: Path) -> list[dict]:
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON ({error.msg})") from None
        if not isinstance(line, dict) or not isinstance(line.get("question"), str) or not line.get("relevant"):
            raise ValueError(f'{path}:{number}: expected {{"question": "...", "relevant": ["..."]}}')
        lines.append(line)
    return lines


def read_questions(path: Path) -> list[str]:
    """One question per line, or JSON lines with a "question"."""
    questions = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            raw = json.loads(raw).get("question", "")
        if raw:
            questions.append(raw)
    return questions


def default_negatives(data: Path) -> list[str]:
    """Questions a COVID FAQ cannot answer: the sample company FAQ's, and borderline coding prompts."""
    sample = Path(__file__).resolve().parents[1] / "knowledge" / "sample" / "faq.csv"
    mitre = data / "guards" / "purplellama_mitre_frr_benign.json"
    coding = [r["mutated_prompt"] for r in _read_json(mitre)][:200] if mitre.is_file() else []
    return _csv_column(sample, "question") + coding


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
            **_percentiles(latencies),
        }
    return {"questions": len(dataset), "modes": figures}


def render_retrieval(figures: dict) -> str:
    header = f"{'mode':<8}" + "".join(f"{name:>10}" for name in ("R@1", "R@5", "R@10", "MRR", "p50 ms", "p95 ms"))
    lines = [f"{figures['questions']} questions", header]
    for mode, row in figures["modes"].items():
        values = [row["recall@1"], row["recall@5"], row["recall@10"], row["mrr"], row["p50_ms"], row["p95_ms"]]
        lines.append(f"{mode:<8}" + "".join(f"{v:>10}" for v in values))
    return "\n".join(lines)


def calibrate(retriever, dataset: list[dict], negatives: list[str], settings) -> dict:
    """MIN_RELEVANCE: the cosine score of the best passage that best separates questions the
    knowledge base answers (the dataset) from ones it cannot (`negatives`).
    FAQ_MATCH: the lowest question-to-question similarity at which the FAQ fast path picks
    a relevant row at least FAQ_PRECISION of the time.
    PASSAGE_MARGIN: the smallest margin below the best passage's score that keeps the relevant
    passage (when retrieved above MIN_RELEVANCE) in the prompt PASSAGE_KEPT of the time.
    Also reports how the configured thresholds do on this dataset: calibrate on one half,
    then run this on the other half to see the thresholds hold."""
    positives = [retriever.retrieve(line["question"], settings.top_k) for line in dataset]
    negative_scores = [max((p.score for p in retriever.retrieve(q, settings.top_k)), default=0.0) for q in negatives]
    positive_scores = [max((p.score for p in ps), default=0.0) for ps in positives]
    candidates = sorted(set(round(s, 2) for s in positive_scores + negative_scores))

    def separation(t: float) -> dict:
        return {"answered_positives": round(sum(s >= t for s in positive_scores) / len(positive_scores), 3),
                "refused_negatives": round(sum(s < t for s in negative_scores) / max(1, len(negative_scores)), 3)}

    def balanced_accuracy(t: float) -> float:
        return sum(separation(t).values()) / 2

    matches = []
    for line, passages in zip(dataset, positives):
        best = max((p for p in passages if p.question_score is not None), key=lambda p: p.question_score, default=None)
        if best is not None:
            matches.append((best.question_score, is_relevant(best, line["relevant"])))

    def fast_path(t: float) -> dict:
        return {"faq_fast_path_share": round(sum(s >= t for s, _ in matches) / max(1, len(dataset)), 3),
                "faq_fast_path_precision": _precision(matches, t)}

    # PASSAGE_MARGIN: how far below the best passage's score the one that answers may lie.
    shown = [[p for p in ps if p.score >= settings.min_relevance] for ps in positives]
    gaps = [max(p.score for p in ps) - max(p.score for p in ps if is_relevant(p, line["relevant"]))
            for line, ps in zip(dataset, shown) if any(is_relevant(p, line["relevant"]) for p in ps)]

    def margin(m: float) -> dict:
        kept = [sum(p.score >= max(q.score for q in ps) - m for p in ps) for ps in shown if ps]
        return {"answer_passage_kept": round(sum(g <= m for g in gaps) / max(1, len(gaps)), 3),
                "passages_kept_mean": round(statistics.mean(kept), 2) if kept else 0.0,
                "passages_relevant_mean": round(statistics.mean(len(ps) for ps in shown if ps), 2) if kept else 0.0}

    min_relevance = max(candidates, key=lambda t: (balanced_accuracy(t), -t))
    faq_match = next((t / 100 for t in range(50, 100) if _precision(matches, t / 100) >= FAQ_PRECISION), 1.0)
    passage_margin = next((m / 100 for m in range(0, 100) if margin(m / 100)["answer_passage_kept"] >= PASSAGE_KEPT), 1.0)
    return {
        "questions": len(dataset), "negatives": len(negatives),
        "suggested": {"MIN_RELEVANCE": min_relevance, **separation(min_relevance),
                      "FAQ_MATCH": faq_match, **fast_path(faq_match),
                      "PASSAGE_MARGIN": passage_margin, **margin(passage_margin)},
        "configured": {"MIN_RELEVANCE": settings.min_relevance, **separation(settings.min_relevance),
                       "FAQ_MATCH": settings.faq_match, **fast_path(settings.faq_match),
                       "PASSAGE_MARGIN": settings.passage_margin, **margin(settings.passage_margin)},
    }


PASSAGE_KEPT = 1.0
"""Share of questions whose answering passage PASSAGE_MARGIN must keep in the prompt: all of
them. A lost passage is a lost answer; the benchmark saw agreement drop at 0.98."""
FAQ_PRECISION = 0.85
"""Against one gold row per paraphrase. The COVID FAQ holds near-duplicate rows (the same
question from two agencies); on inspection, the fast path's "wrong" rows at >= 0.85 were
such twins, which answer the question as well."""


def render_calibration(figures: dict) -> str:
    lines = [f"{figures['questions']} questions, {figures['negatives']} negatives"]
    for name in ("suggested", "configured"):
        lines.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures[name].items()))
    return "\n".join(lines)


def _precision(matches: list[tuple[float, bool]], threshold: float) -> float:
    fired = [right for score, right in matches if score >= threshold]
    return round(sum(fired) / len(fired), 3) if fired else 1.0


# --- cache -------------------------------------------------------------------------------

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
        keep = [i for i, r in enumerate(rows) if _stable_half(r["question_1"]) == (half == "test")]
        hits = [i for i in keep if similarity[i] >= threshold]
        similar = [i for i in keep if rows[i]["similar"] == "1"]
        right = [i for i in hits if rows[i]["similar"] == "1"]
        figures[half] = {"pairs": len(keep), "hit_rate_on_similar": round(len(right) / max(1, len(similar)), 3),
                         "hit_precision": round(len(right) / len(hits), 3) if hits else None,
                         "wrong_hits": len(hits) - len(right)}
    return figures
