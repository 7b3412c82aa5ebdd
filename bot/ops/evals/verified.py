"""`bot eval verified` and VERIFIED_MATCH in `bot eval calibrate`: verified answers
(bot/chain/verified.py) as the bot serves them, on the COVID paraphrases.

Half of the FAQ questions that have paraphrases are verified (a stable hash of the question);
every positive paraphrase, every unverified FAQ question and the default negatives are asked.
A paraphrase of a verified question must be served its answer; every other question must be
served none. The asked questions are split in two by a stable hash of their own text:
the threshold is chosen on the calibration half and reported on the held-back test half.
The verified entries hold the FAQ question only (no paraphrases), the hardest case.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import redis

from bot.chain.verified import Verified, VerifiedAnswers
from bot.ops.evals.data import PUBLIC_ACCESS, default_negatives

MAX_FALSE_SERVES = 0.005
"""The calibration half's share of other questions that may be served a verified answer: half
the goal's 1%, so that the held-back half has room."""
GOALS = {"served_paraphrases": 0.95, "false_serves": 0.01}


@dataclass(frozen=True)
class Asked:
    question: str
    expected: str
    """The verified FAQ question it paraphrases; "" when no verified answer should be served."""
    half: str


def split(text: str, salt: str) -> int:
    return hashlib.sha256(f"{salt}:{text}".encode()).digest()[0] % 2


def covid_cases(data: Path) -> tuple[list[str], list[Asked]]:
    """The verified FAQ questions, and every question asked with what it should be served."""
    with (data / "faq" / "covid_paraphrases.csv").open(newline="", encoding="utf-8") as handle:
        pairs = [r for r in csv.DictReader(handle) if r["similar"] == "1"]
    faqs = list(dict.fromkeys(r["question_1"] for r in pairs))
    verified = [q for q in faqs if split(q, "verified") == 0]
    chosen = set(verified)

    def half(text: str) -> str:
        return "calibration" if split(text, "asked") == 0 else "test"

    asked = [
        Asked(
            r["question_2"],
            r["question_1"] if r["question_1"] in chosen else "",
            half(r["question_2"]),
        )
        for r in pairs
    ]
    asked += [Asked(q, "", half(q)) for q in faqs if q not in chosen]
    asked += [Asked(q, "", half(q)) for q in default_negatives(data)]
    return verified, asked


def best_matches(
    embed: Callable[[str], Sequence[float]], verified: list[str], asked: list[Asked]
) -> list[tuple[str, float]]:
    """Each asked question's closest verified question and its similarity (for choosing thresholds)."""
    vectors = np.asarray([embed(q) for q in verified], dtype=np.float32)
    found = []
    for case in asked:
        scores = vectors @ np.asarray(embed(case.question), dtype=np.float32)
        best = int(np.argmax(scores))
        found.append((verified[best], float(scores[best])))
    return found


def suggest_threshold(embed: Callable[[str], Sequence[float]], data: Path) -> dict:
    """VERIFIED_MATCH: the lowest similarity at which at most MAX_FALSE_SERVES of the calibration
    half's other questions are served a verified answer; and the paraphrases it serves there."""
    verified, asked = covid_cases(data)
    asked = [case for case in asked if case.half == "calibration"]
    matches = best_matches(embed, verified, asked)

    def rates(threshold: float) -> dict:
        return rates_of(
            [
                (case, found if score >= threshold else "")
                for case, (found, score) in zip(asked, matches, strict=True)
            ]
        )

    threshold = next(
        (t / 100 for t in range(50, 100) if rates(t / 100)["false_serves"] <= MAX_FALSE_SERVES),
        1.0,
    )
    return {"VERIFIED_MATCH": threshold, **rates(threshold)}


def eval_verified(
    data: Path,
    embed: Callable[[str], Sequence[float]],
    threshold: float,
    client: redis.Redis,
    prefix: str,
) -> dict:
    """The verified answers as the bot serves them (exact, then semantic, normalisation, the
    English-only rule), on both halves, at `threshold`; then on the test half again with each
    entry holding its calibration-half paraphrases as other wordings (as an owner adds them)."""
    verified, asked = covid_cases(data)
    known = {
        q: tuple(c.question for c in asked if c.expected == q and c.half == "calibration")
        for q in verified
    }
    figures: dict = {"threshold": threshold, "verified_questions": len(verified)}
    served = serve(verified, {}, asked, embed, threshold, client, prefix)
    for half in ("calibration", "test"):
        figures[half] = rates_of([(case, found) for case, found in served if case.half == half])
    test = [case for case in asked if case.half == "test"]
    figures["test_with_calibration_paraphrases"] = rates_of(
        serve(verified, known, test, embed, threshold, client, prefix)
    )
    figures["goals_met_on_test"] = (
        figures["test"]["served_paraphrases"] >= GOALS["served_paraphrases"]
        and figures["test"]["false_serves"] < GOALS["false_serves"]
    )
    return figures


def serve(
    verified: list[str],
    paraphrases: dict[str, tuple[str, ...]],
    asked: list[Asked],
    embed,
    threshold: float,
    client: redis.Redis,
    prefix: str,
) -> list[tuple[Asked, str]]:
    """Each asked question with the verified question whose answer it was served ("" none)."""
    prefix = f"{prefix}eval:verified:{uuid.uuid4().hex[:12]}:"
    store = VerifiedAnswers(client, prefix, embed, threshold)
    try:
        ids = {
            store.save(
                Verified(
                    q,
                    f"answer to {q}",
                    "eval",
                    paraphrases=paraphrases.get(q, ()),
                    source="covid",
                )
            ).id: q
            for q in verified
        }
        found = []
        for case in asked:
            match = store.match(case.question, PUBLIC_ACCESS)
            found.append((case, ids[match.entry.id] if match else ""))
        return found
    finally:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def rates_of(served: list[tuple[Asked, str]]) -> dict:
    """Paraphrases of verified questions served their answer; other questions served any."""
    positives = [found == case.expected for case, found in served if case.expected]
    others = [bool(found) for case, found in served if not case.expected]
    wrong = sum(bool(found) and found != case.expected for case, found in served if case.expected)
    return {
        "paraphrases": len(positives),
        "served_paraphrases": round(sum(positives) / max(1, len(positives)), 3),
        "served_a_wrong_answer": wrong,
        "other_questions": len(others),
        "false_serves": round(sum(others) / max(1, len(others)), 4),
    }
