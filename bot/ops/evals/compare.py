"""`bot eval compare`: two answer prompts over the same cases, side by side, and a gate.

The candidate regresses when, against the baseline, it
- cites the expected source in a share of cases lower by more than `tolerance` (absolute),
- refuses correctly in a share of cases lower by more than `tolerance`,
- has more guard failures per answer by more than `tolerance`,
- costs more per answer by more than COST_TOLERANCE (relative).
Latency is shown, not gated: on a shared CI machine it moves more than a prompt moves it (the
benchmarks in tests/benchmarks measure it). With few cases one case is a large share: on a
dataset of 12, a single case lost is 0.08, beyond the default tolerance of 0.05.
"""

from __future__ import annotations

from dataclasses import dataclass

TOLERANCE = 0.05
COST_TOLERANCE = 0.25


@dataclass(frozen=True)
class Gate:
    metric: str
    label: str
    higher_is_better: bool
    relative: bool = False


GATES = (
    Gate("cited_rate", "expected source cited", True),
    Gate("refusal_accuracy", "refusals correct", True),
    Gate("guard_failures_per_answer", "guard failures per answer", False),
    Gate("cost_per_answer_usd", "cost per answer (USD)", False, relative=True),
)
SHOWN = (("p50_ms", "latency p50 (ms)"), ("p95_ms", "latency p95 (ms)"), ("refused", "refused"))


def compare(baseline: dict, candidate: dict, tolerance: float = TOLERANCE) -> dict:
    """Both runs' figures side by side; `regressions` says what fails the gate, in words."""
    rows, regressions = [], []
    for gate in GATES:
        before, after = baseline["figures"][gate.metric], candidate["figures"][gate.metric]
        allowed = (abs(before or 0) * COST_TOLERANCE) if gate.relative else tolerance
        worse = (
            None
            if before is None or after is None
            else (before - after if gate.higher_is_better else after - before)
        )
        regressed = worse is not None and worse > allowed + 1e-12
        rows.append(
            {
                "metric": gate.metric,
                "label": gate.label,
                "baseline": before,
                "candidate": after,
                "allowed": round(allowed, 6),
                "regressed": regressed,
            }
        )
        if regressed:
            change = (
                f"{worse / before:.0%} more"
                if gate.relative and before
                else f"worse by {worse:.3f}"
            )
            regressions.append(
                f"{gate.label}: {fmt(before)} -> {fmt(after)} ({change}; allowed {fmt(allowed)})"
            )
    rows += [
        {
            "metric": metric,
            "label": label,
            "baseline": baseline["figures"][metric],
            "candidate": candidate["figures"][metric],
            "allowed": None,
            "regressed": False,
        }
        for metric, label in SHOWN
    ]
    return {
        "baseline": {k: baseline[k] for k in ("variant", "prompt_version", "figures")},
        "candidate": {k: candidate[k] for k in ("variant", "prompt_version", "figures")},
        "tolerance": {"rates": tolerance, "cost_relative": COST_TOLERANCE},
        "rows": rows,
        "regressions": regressions,
        "passed": not regressions,
        "cases_worse": cases_worse(baseline["cases"], candidate["cases"]),
    }


def cases_worse(baseline: list[dict], candidate: list[dict]) -> list[dict]:
    """The cases the baseline got right and the candidate wrong: where to look first."""
    worse = []
    for before, after in zip(baseline, candidate, strict=True):
        lost = [
            name
            for name in ("cited_expected", "refusal_correct")
            if before[name] and after[name] is False
        ]
        if lost:
            worse.append(
                {
                    "question": after["question"],
                    "lost": lost,
                    "baseline_answer": before["answer"],
                    "candidate_answer": after["answer"],
                    "candidate_sources": after["sources"],
                }
            )
    return worse


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def render(comparison: dict) -> str:
    base, cand = comparison["baseline"], comparison["candidate"]
    header = ("", f"{base['variant']} (baseline)", f"{cand['variant']} (candidate)", "allowed", "")
    rows = [header] + [
        (
            r["label"],
            fmt(r["baseline"]),
            fmt(r["candidate"]),
            "-" if r["allowed"] is None else fmt(r["allowed"]),
            "REGRESSED" if r["regressed"] else "",
        )
        for r in comparison["rows"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        f"{base['prompt_version']} vs {cand['prompt_version']}, {base['figures']['cases']} cases"
    ]
    lines += [
        "  "
        + "  ".join(
            c.ljust(w) if i in (0, 4) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=False))
        ).rstrip()
        for row in rows
    ]
    for case in comparison["cases_worse"]:
        lines.append(
            f"  worse: {case['question']!r} ({', '.join(case['lost'])}): "
            f"{', '.join(case['candidate_sources']) or 'refused or cited nothing'}"
        )
    if comparison["passed"]:
        lines.append(f"PASS: {cand['variant']} does not regress beyond the tolerance.")
    else:
        lines += [f"FAIL: {cand['variant']} regresses:"] + [
            f"  {r}" for r in comparison["regressions"]
        ]
    return "\n".join(lines)
