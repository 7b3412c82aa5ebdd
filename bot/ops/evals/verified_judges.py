"""Second judges of "is this the same question as the verified one", measured on the COVID
paraphrases (`bot eval verified --judges`), beyond the question-to-question cosine similarity
that VERIFIED_MATCH thresholds today. The cases are `bot eval verified`'s; each verified entry
now carries its FAQ row's real answer, since two of the judges read it.

Each rule serves the best-scoring entry when its score reaches a threshold and, for the margin
rules, when it leads the runner-up by a margin:

- `question`: question-to-question similarity (what the bot does today);
- `question_margin`: the same, the runner-up being the second-best entry;
- `question_answer_margin`: the mean of the question-to-question similarity and the similarity
  of the question (e5 `query:`) to the entry's question and answer (`passage:`, as ingest
  indexes an FAQ row), the runner-up the second-best entry;
- `knowledge_base_margin`: as above, the runner-up also any knowledge-base row (the whole COVID
  FAQ, scored the same way) whose question is not the entry's own. It is told apart by its
  question: a passage on the entry's own question is the same answer, not a competitor.

Threshold and margin are chosen on the calibration half (the most paraphrases served, with no
wrong answer and at most MAX_FALSE_SERVES of the other questions) and reported once on the
held-back test half.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.chain.answer_cache import normalised
from bot.ops.evals.verified import MAX_FALSE_SERVES, Asked, covid_cases, rates_of
from knowledge.embeddings import Embedder

RULES = ("question", "question_margin", "question_answer_margin", "knowledge_base_margin")
THRESHOLDS = np.round(np.arange(0.80, 0.995, 0.005), 3)
MARGINS = np.round(np.arange(0.0, 0.0625, 0.005), 3)


@dataclass(frozen=True)
class Scores:
    """What each rule reads, one row per asked question."""

    best: np.ndarray
    """Index of the best-scoring verified entry."""
    score: np.ndarray
    """Its score (the rule's own: question only, or question and answer)."""
    lead: np.ndarray
    """Its lead over the runner-up (the rule's own runner-up)."""


def faq_rows(data: Path) -> list[tuple[str, str]]:
    """The COVID FAQ's (question, answer) rows, as the knowledge base holds them."""
    with (data / "faq" / "covid_faq.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(r["question"].strip(), r["answer"].strip()) for r in csv.DictReader(handle)]
    return [(q, a) for q, a in rows if q and a]


def passage(question: str, answer: str) -> str:
    """An FAQ row as ingest embeds it: its question, then its answer (Chunk.embedding_text)."""
    return f"{question}\n{answer}"


def rule_scores(
    embedder: Embedder, verified: list[str], asked: list[Asked], rows: list[tuple[str, str]]
) -> dict[str, Scores]:
    """Each rule's best entry, score and lead for every asked question."""
    own_row = {normalised(q): i for i, (q, _) in reversed(list(enumerate(rows)))}
    entry_rows = [own_row[normalised(q)] for q in verified]
    asked_vectors = np.asarray(embedder.embed_questions([c.question for c in asked]))
    to_questions = asked_vectors @ np.asarray(embedder.embed_questions(verified)).T
    to_row_questions = asked_vectors @ np.asarray(embedder.embed_questions([q for q, _ in rows])).T
    to_rows = asked_vectors @ np.asarray(embedder.embed_documents([passage(*r) for r in rows])).T
    rows_combined = (to_row_questions + to_rows) / 2
    combined = (to_questions + to_rows[:, entry_rows]) / 2
    by_rule = {
        "question": leading(to_questions),
        "question_margin": leading(to_questions),
        "question_answer_margin": leading(combined),
    }
    best = by_rule["question_answer_margin"]
    # A row on the best entry's own question (its source, or the same question asked twice in
    # the FAQ) is not a competitor; every other row, verified or not, is.
    same_question = np.array(
        [[normalised(q) == normalised(verified[b]) for q, _ in rows] for b in best.best]
    )
    competitors = np.where(same_question, -np.inf, rows_combined).max(axis=1)
    by_rule["knowledge_base_margin"] = Scores(
        best.best, best.score, best.score - np.maximum(competitors, best.score - best.lead)
    )
    return by_rule


def leading(similarities: np.ndarray) -> Scores:
    """The best column of each row, its value and its lead over the second-best column."""
    order = np.argsort(-similarities, axis=1)
    rows = np.arange(len(similarities))
    score = similarities[rows, order[:, 0]]
    runner_up = similarities[rows, order[:, 1]] if similarities.shape[1] > 1 else -np.inf
    return Scores(order[:, 0], score, score - runner_up)


def served(
    scores: Scores, verified: list[str], asked: list[Asked], threshold: float, margin: float
) -> list[tuple[Asked, str]]:
    """Each asked question with the verified question whose answer the rule serves ("" none)."""
    serve = (scores.score >= threshold) & (scores.lead >= margin)
    return [
        (case, verified[best] if ok else "")
        for case, best, ok in zip(asked, scores.best, serve, strict=True)
    ]


def choose(
    scores: Scores, verified: list[str], asked: list[Asked], margins: np.ndarray
) -> tuple[float, float]:
    """The threshold and margin serving the most calibration paraphrases with no wrong answer
    and at most MAX_FALSE_SERVES of the other questions; of pairs serving as many, the highest
    threshold and then the largest margin, which leave the held-back half most room."""
    calibration = [i for i, case in enumerate(asked) if case.half == "calibration"]
    part = Scores(scores.best[calibration], scores.score[calibration], scores.lead[calibration])
    cases = [asked[i] for i in calibration]
    best: tuple[float, float, float] = (-1.0, 1.0, 0.0)
    for threshold in THRESHOLDS:
        for margin in margins:
            rates = rates_of(served(part, verified, cases, threshold, margin))
            if rates["served_a_wrong_answer"] or rates["false_serves"] > MAX_FALSE_SERVES:
                continue
            if rates["served_paraphrases"] >= best[0]:  # a tie: the later, stricter pair
                best = (rates["served_paraphrases"], float(threshold), float(margin))
    return best[1], best[2]


def eval_judges(data: Path, embedder: Embedder) -> dict:
    """Each rule's chosen threshold and margin, and its rates on both halves."""
    verified, asked = covid_cases(data)
    scores = rule_scores(embedder, verified, asked, faq_rows(data))
    figures: dict = {}
    for rule in RULES:
        margins = MARGINS if rule.endswith("margin") else np.zeros(1)
        threshold, margin = choose(scores[rule], verified, asked, margins)
        found = served(scores[rule], verified, asked, threshold, margin)
        figures[rule] = {
            "threshold": threshold,
            "margin": margin,
            **{
                half: rates_of([(case, f) for case, f in found if case.half == half])
                for half in ("calibration", "test")
            },
        }
    return figures
