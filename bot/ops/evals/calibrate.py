"""`bot eval calibrate`: the thresholds MIN_RELEVANCE, FAQ_MATCH and PASSAGE_MARGIN suggested by
a dataset (run it on the calibration half), and how the configured ones hold (run it on the
test half). Per language of the question: a Korean question's passages are scored by their
lexical relevance, not by cosine, so Korean has its own threshold (MIN_RELEVANCE_KO) and
is calibrated on Korean negatives."""

from __future__ import annotations

import statistics

from bot.ops.evals.retrieval import by_language, is_relevant
from knowledge.access import Access
from knowledge.language import language_of

PASSAGE_KEPT = 1.0
"""Share of questions whose answering passage PASSAGE_MARGIN must keep in the prompt: all of
them. A lost passage is a lost answer; the benchmark saw agreement drop at 0.98."""
FAQ_PRECISION = 0.85
"""Against one gold row per paraphrase. The COVID FAQ holds near-duplicate rows (the same
question from two agencies); on inspection, the fast path's "wrong" rows at >= 0.85 were
such twins, which answer the question as well."""
THRESHOLD = {"en": "MIN_RELEVANCE", "ko": "MIN_RELEVANCE_KO"}
"""The refusal threshold each language is judged by."""


def calibrate(
    retriever, dataset: list[dict], negatives: list[str], settings, access: Access
) -> dict:
    """Per language of the questions: `calibrate_language` on that language's questions and
    negatives."""
    return {
        "languages": {
            lang: calibrate_language(
                retriever,
                lines,
                [q for q in negatives if language_of(q) == lang],
                settings,
                lang,
                access,
            )
            for lang, lines in by_language(dataset).items()
        }
    }


def calibrate_language(
    retriever, dataset: list[dict], negatives: list[str], settings, lang: str, access: Access
) -> dict:
    """MIN_RELEVANCE (MIN_RELEVANCE_KO): the score of the best passage that best separates
    questions the knowledge base answers (the dataset) from ones it cannot (`negatives`).
    FAQ_MATCH: the lowest question-to-question similarity at which the FAQ fast path picks
    a relevant row at least FAQ_PRECISION of the time.
    PASSAGE_MARGIN: the smallest margin below the best passage's score that keeps the relevant
    passage (when retrieved above the threshold) in the prompt PASSAGE_KEPT of the time.
    Also reports how the configured thresholds do on this dataset: calibrate on one half,
    then run this on the other half to see the thresholds hold."""
    threshold, configured = THRESHOLD[lang], settings.knowledge.min_relevance_for(lang)
    positives = [
        retriever.retrieve(line["question"], settings.knowledge.top_k, access=access)
        for line in dataset
    ]
    negative_scores = [
        max(
            (p.score for p in retriever.retrieve(q, settings.knowledge.top_k, access=access)),
            default=0.0,
        )
        for q in negatives
    ]
    positive_scores = [max((p.score for p in ps), default=0.0) for ps in positives]
    candidates = sorted(set(round(s, 2) for s in positive_scores + negative_scores))

    def separation(t: float) -> dict:
        return {
            "answered_positives": round(
                sum(s >= t for s in positive_scores) / len(positive_scores), 3
            ),
            "refused_negatives": round(
                sum(s < t for s in negative_scores) / max(1, len(negative_scores)), 3
            ),
        }

    def balanced_accuracy(t: float) -> float:
        return sum(separation(t).values()) / 2

    matches = []
    for line, passages in zip(dataset, positives, strict=True):
        best = max(
            (p for p in passages if p.question_score is not None),
            key=lambda p: p.question_score,
            default=None,
        )
        if best is not None:
            matches.append((best.question_score, is_relevant(best, line["relevant"])))

    def fast_path(t: float) -> dict:
        return {
            "faq_fast_path_share": round(sum(s >= t for s, _ in matches) / max(1, len(dataset)), 3),
            "faq_fast_path_precision": _precision(matches, t),
        }

    # PASSAGE_MARGIN: how far below the best passage's score the one that answers may lie.
    shown = [[p for p in ps if p.score >= configured] for ps in positives]
    gaps = [
        max(p.score for p in ps) - max(p.score for p in ps if is_relevant(p, line["relevant"]))
        for line, ps in zip(dataset, shown, strict=True)
        if any(is_relevant(p, line["relevant"]) for p in ps)
    ]

    def margin(m: float) -> dict:
        kept = [sum(p.score >= max(q.score for q in ps) - m for p in ps) for ps in shown if ps]
        return {
            "answer_passage_kept": round(sum(g <= m for g in gaps) / max(1, len(gaps)), 3),
            "passages_kept_mean": round(statistics.mean(kept), 2) if kept else 0.0,
            "passages_relevant_mean": round(statistics.mean(len(ps) for ps in shown if ps), 2)
            if kept
            else 0.0,
        }

    min_relevance = max(candidates, key=lambda t: (balanced_accuracy(t), -t))
    faq_match = next(
        (t / 100 for t in range(50, 100) if _precision(matches, t / 100) >= FAQ_PRECISION), 1.0
    )
    passage_margin = next(
        (m / 100 for m in range(0, 100) if margin(m / 100)["answer_passage_kept"] >= PASSAGE_KEPT),
        1.0,
    )
    suggested = {threshold: min_relevance, **separation(min_relevance)}
    current = {threshold: configured, **separation(configured)}
    if lang == "en":  # Korean questions never take the FAQ fast path, and share the English margin
        suggested |= {
            "FAQ_MATCH": faq_match,
            **fast_path(faq_match),
            "PASSAGE_MARGIN": passage_margin,
            **margin(passage_margin),
        }
        current |= {
            "FAQ_MATCH": settings.knowledge.faq_match,
            **fast_path(settings.knowledge.faq_match),
            "PASSAGE_MARGIN": settings.knowledge.passage_margin,
            **margin(settings.knowledge.passage_margin),
        }
    return {
        "questions": len(dataset),
        "negatives": len(negatives),
        "suggested": suggested,
        "configured": current,
    }


def render_calibration(figures: dict) -> str:
    lines = []
    for lang, group in figures["languages"].items():
        lines.append(f"{lang}: {group['questions']} questions, {group['negatives']} negatives")
        for name in ("suggested", "configured"):
            lines.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in group[name].items()))
    if "verified" in figures:
        lines.append("verified answers (calibration half of the COVID paraphrases):")
        for name in ("suggested", "configured"):
            lines.append(
                f"  {name}: " + ", ".join(f"{k} {v}" for k, v in figures["verified"][name].items())
            )
    return "\n".join(lines)


def _precision(matches: list[tuple[float, bool]], threshold: float) -> float:
    fired = [right for score, right in matches if score >= threshold]
    return round(sum(fired) / len(fired), 3) if fired else 1.0
