"""The Korean part of `bot eval guards`, on inputs written in this project
(guards/data/eval_ko.toml): injection detection by kind of attack, false positives on Korean
look-alikes, Korean passages the screen would drop, Korean personal data, and the output
guard's grounding on Korean answers."""

from __future__ import annotations

import json
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from bot.ops.evals.data import percentiles
from guards.input import InputGuard
from guards.pii import find

KOREAN_SET = Path(__file__).resolve().parents[3] / "guards" / "data" / "eval_ko.toml"
KOREAN_DOCS = Path(__file__).resolve().parents[3] / "knowledge" / "sample" / "ko"


def eval_korean(
    guard: InputGuard, embed_query: Callable[[str], object] | None = None, path: Path = KOREAN_SET
) -> dict:
    """`embed_query` (the Embedder's, which caches) embeds each question before the guard is
    timed, as retrieval would anyway: the latency is what the guard adds to a turn."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    timings: list[float] = []

    def check(text: str):
        if embed_query is not None:
            embed_query(text)
        started = time.perf_counter()
        verdict = guard.check(text)
        timings.append((time.perf_counter() - started) * 1000)
        return verdict

    hits = [check(a["text"]).reason == "prompt_injection" for a in data["attack"]]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for attack, hit in zip(data["attack"], hits, strict=True):
        by_kind[attack["kind"]].append(hit)
    flagged = [b["text"] for b in data["benign"] if check(b["text"]).reason == "prompt_injection"]
    passages = korean_passages()
    unsafe = [p for p in passages if not guard.passage_is_safe(p)]
    return {
        "injection": {
            "detection_rate": round(sum(hits) / len(hits), 3),
            "attacks": len(hits),
            "by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())},
            "missed": [a["text"] for a, hit in zip(data["attack"], hits, strict=True) if not hit],
            "false_positive_rate": round(len(flagged) / len(data["benign"]), 3),
            "look_alikes": len(data["benign"]),
            "flagged": flagged,
            "passages_dropped": len(unsafe),
            "passages": len(passages),
            "latency": percentiles(timings),
        },
        "pii": eval_korean_pii(data["pii"]),
        "grounding": eval_korean_grounding(data["grounding"]),
    }


def korean_passages(folder: Path = KOREAN_DOCS) -> list[str]:
    """The Korean sample documents' paragraphs: text the passage screen must let through."""
    paragraphs = []
    for path in sorted(folder.glob("*.md")):
        body = path.read_text(encoding="utf-8").split("---", 2)[-1]
        paragraphs += [p.strip() for p in body.split("\n\n") if p.strip() and not p.startswith("#")]
    return paragraphs


def eval_korean_pii(records: list[dict]) -> dict:
    """Per kind: found, missed, left in the redacted text; and look-alikes (order numbers, ...)
    taken for personal data. Gold values are written as they appear in the text."""
    found, missed, surviving, wrong = (
        defaultdict(int),
        defaultdict(int),
        defaultdict(int),
        defaultdict(int),
    )
    for record in records:
        text, findings = record["text"], find(record["text"])
        gold = []
        for kind, value in record.get("spans", []):
            start = text.index(value)
            gold.append((kind, start, start + len(value)))
        for kind, start, end in gold:
            hit = any(f.kind == kind and f.start < end and start < f.end for f in findings)
            (found if hit else missed)[kind] += 1
            surviving[kind] += not any(f.start <= start and end <= f.end for f in findings)
        for f in findings:
            if not any(
                kind == f.kind and f.start < end and start < f.end for kind, start, end in gold
            ):
                wrong[f.kind] += 1
    kinds = sorted({*found, *missed, *wrong})
    return {
        kind: {
            "recall": round(found[kind] / (found[kind] + missed[kind]), 3)
            if found[kind] + missed[kind]
            else None,
            "entities": found[kind] + missed[kind],
            "values_surviving": surviving[kind],
            "false_finds": wrong[kind],
        }
        for kind in kinds
    }


def eval_korean_grounding(cases: list[dict]) -> dict:
    """Each case: a passage, an answer faithful to it in other words, and one it does not support."""
    from guards.output import OutputGuard  # guardrails: ~7 s, only for these cases

    guard = OutputGuard()

    def passes(answer: str, passage: str) -> bool:
        reply = json.dumps(
            {"answer": f"{answer} [1]", "sources": [1], "confidence": 0.9}, ensure_ascii=False
        )
        return guard.check(reply, [passage]).passed

    passes(
        cases[0]["faithful"], cases[0]["passage"]
    )  # kiwipiepy loads its model on first use (~2.5 s)
    timings: list[float] = []
    passed = caught = 0
    for case in cases:
        started = time.perf_counter()
        passed += passes(case["faithful"], case["passage"])
        timings.append((time.perf_counter() - started) * 1000)
        caught += not passes(case["unfaithful"], case["passage"])
    return {
        "cases": len(cases),
        "faithful_answers_passed": round(passed / len(cases), 3),
        "unfaithful_answers_caught": round(caught / len(cases), 3),
        "latency": percentiles(timings),
    }


def render_korean(figures: dict) -> list[str]:
    inj, grounding = figures["injection"], figures["grounding"]
    lines = [
        f"Korean (guards/data/eval_ko.toml): injection detection {inj['detection_rate']:.1%} of {inj['attacks']} attacks; "
        f"false positives {inj['false_positive_rate']:.1%} of {inj['look_alikes']} look-alike questions; "
        f"{inj['passages_dropped']} of {inj['passages']} Korean sample passages dropped by the screen; input guard adds "
        f"p50 {inj['latency']['p50_ms']} ms, p95 {inj['latency']['p95_ms']} ms to a turn",
        "  by kind: " + ", ".join(f"{k} {v}" for k, v in inj["by_kind"].items()),
        *(f"  missed: {text}" for text in inj["missed"]),
        *(f"  flagged look-alike: {text}" for text in inj["flagged"]),
        "  PII: "
        + ", ".join(
            f"{kind} recall {'-' if row['recall'] is None else format(row['recall'], '.3f')} "
            f"surviving {row['values_surviving']}/{row['entities']} false finds {row['false_finds']}"
            for kind, row in figures["pii"].items()
        ),
        f"  output guard on Korean answers: faithful in other words passed {grounding['faithful_answers_passed']:.1%}, "
        f"unsupported caught {grounding['unfaithful_answers_caught']:.1%} ({grounding['cases']} cases); "
        f"p50 {grounding['latency']['p50_ms']} ms, p95 {grounding['latency']['p95_ms']} ms per answer",
    ]
    return lines
