"""`bot eval gaps`: how well the report groups the questions nobody answered (bot/ops/unanswered.py), on
wordings labelled with the need they ask about, at a range of similarity thresholds.

A line is `{"question", "need"}`; a line of `bot eval covid-dataset` (`{"question", "relevant"}`)
also works, its FAQ row being the need. Per threshold: the adjusted Rand index between the
groups and the needs (1 is a perfect grouping, 0 what chance gives), how many groups there are
against how many needs, the share of groups that mix needs, and the share of needs split over
several groups. The default data, tests/data/gap_needs.jsonl, is needs the sample handbook does
not cover, each in 3-5 wordings written for this evaluation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from bot.ops.evals.data import json_lines
from bot.ops.unanswered import GAP_MATCH, cluster

DEFAULT_DATASET = Path(__file__).resolve().parents[3] / "tests" / "data" / "gap_needs.jsonl"
THRESHOLDS = tuple(round(0.5 + 0.025 * step, 3) for step in range(19))


def read_needs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in json_lines(path):
        line = line if isinstance(line, dict) else {}
        need = line.get("need") or (line.get("relevant") or [None])[0]
        if not isinstance(line.get("question"), str) or not isinstance(need, str):
            raise ValueError(f'{path}:{number}: expected {{"question": "...", "need": "..."}}')
        pairs.append((line["question"], need))
    if len({need for _, need in pairs}) < 2:
        raise ValueError(f"{path}: needs at least two different needs to measure a grouping")
    return pairs


def eval_gaps(pairs: list[tuple[str, str]], embed_questions, thresholds=THRESHOLDS) -> dict:
    from sklearn.metrics import adjusted_rand_score  # scikit-learn (~1 s): only for this eval

    questions, needs = [q for q, _ in pairs], [n for _, n in pairs]
    vectors = np.asarray(embed_questions(questions), dtype=np.float32)
    rows = []
    for threshold in thresholds:
        labels = cluster(vectors, threshold)
        groups = {
            label: [needs[i] for i, other in enumerate(labels) if other == label]
            for label in set(labels)
        }
        split = [
            need
            for need in set(needs)
            if len({labels[i] for i, n in enumerate(needs) if n == need}) > 1
        ]
        rows.append(
            {
                "threshold": threshold,
                "ari": round(float(adjusted_rand_score(needs, labels)), 3),
                "groups": len(groups),
                "mixed": round(sum(len(set(g)) > 1 for g in groups.values()) / len(groups), 3),
                "split": round(len(split) / len(set(needs)), 3),
            }
        )
    best = max(rows, key=lambda row: (row["ari"], -abs(row["threshold"] - GAP_MATCH)))
    return {
        "questions": len(pairs),
        "needs": len(set(needs)),
        "largest_need": Counter(needs).most_common(1)[0][1],
        "configured": GAP_MATCH,
        "best": best["threshold"],
        "thresholds": rows,
    }


def render_gaps(figures: dict) -> str:
    lines = [
        f"{figures['questions']} wordings of {figures['needs']} needs; the report groups at {figures['configured']}",
        f"{'threshold':>10}{'ARI':>8}{'groups':>8}{'mixed':>8}{'split':>8}",
    ]
    for row in figures["thresholds"]:
        mark = "  <- configured" if row["threshold"] == figures["configured"] else ""
        mark += "  <- best" if row["threshold"] == figures["best"] else ""
        lines.append(
            f"{row['threshold']:>10}{row['ari']:>8}{row['groups']:>8}{row['mixed']:>8.0%}{row['split']:>8.0%}{mark}"
        )
    return "\n".join(lines)
