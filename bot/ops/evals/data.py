"""The evaluation data's readers, shared by every `bot eval` (all read from EVAL_DATA_DIR, by
default ../shared/eval, never copied into the repository), the COVID dataset recipe with its two halves, and who the
evals that take no --user ask as."""

from __future__ import annotations

import csv
import hashlib
import json
import statistics
from pathlib import Path

from knowledge.access import PUBLIC, Access

SAMPLE_KB = Path(__file__).resolve().parents[3] / "knowledge" / "sample"
KOREAN_EVAL = Path(__file__).resolve().parents[3] / "knowledge" / "eval"
"""The project's own Korean set over knowledge/sample/ko: `ko.jsonl` (questions with their
sections) and `ko-off-topic.jsonl` (questions it cannot answer), each line in a `half`."""
PUBLIC_ACCESS = Access.of(PUBLIC)
"""Nobody in particular: `everyone` documents only (the guards, cache and tables evals)."""


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def csv_column(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row[column] for row in csv.DictReader(handle)]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


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
    return [line for line in lines if stable_half(line["relevant"][0]) == keep]


def stable_half(text: str) -> int:
    """0 (calibration) or 1 (test) for an FAQ question, the same on every run."""
    return hashlib.sha256(text.encode()).digest()[0] % 2


def in_half(line: dict, half: str) -> bool:
    """A line without a `half` field (a file already split, like covid-dataset's) is in every half."""
    return half == "all" or line.get("half", half) == half


def json_lines(path: Path, expected: str = ""):
    """(line number, value) of each non-blank line of a JSON lines file; a line that is not JSON
    is a ValueError naming the file and line (and what each line should be, when `expected`)."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path}:{number}: not JSON ({error.msg})"
                + (f"; each line is {expected}" if expected else "")
            ) from None


def read_dataset(path: Path, half: str = "all") -> list[dict]:
    lines = []
    for number, line in json_lines(path):
        if (
            not isinstance(line, dict)
            or not isinstance(line.get("question"), str)
            or not line.get("relevant")
        ):
            raise ValueError(
                f'{path}:{number}: expected {{"question": "...", "relevant": ["..."]}}'
            )
        if in_half(line, half):
            lines.append(line)
    return lines


def read_questions(path: Path, half: str = "all") -> list[str]:
    """One question per line, or JSON lines with a "question" (and maybe a "half")."""
    questions = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            line = json.loads(raw)
            raw = line.get("question", "") if in_half(line, half) else ""
        if raw:
            questions.append(raw)
    return questions


def default_negatives(data: Path, half: str = "all") -> list[str]:
    """Questions a COVID FAQ cannot answer: the sample company FAQ's, and borderline coding
    prompts; and in Korean, off-topic questions the Korean sample pages cannot answer."""
    sample = SAMPLE_KB / "faq.csv"
    mitre = data / "guards" / "purplellama_mitre_frr_benign.json"
    coding = [r["mutated_prompt"] for r in read_json(mitre)][:200] if mitre.is_file() else []
    return (
        csv_column(sample, "question")
        + coding
        + read_questions(KOREAN_EVAL / "ko-off-topic.jsonl", half)
    )
