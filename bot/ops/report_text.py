"""The report (bot/ops/report.py) as text: aligned columns for a terminal (`bot report`), and a
short mrkdwn summary for Slack (`/kb report`)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from bot.slack.blocks import to_mrkdwn

UP, DOWN = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}"
SLACK_GAPS = 5


def percent(value: float | None) -> str:
    return (
        "-" if value is None else f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"
    )


def dollars(value: float | None) -> str:
    """Cents from 10 cents up; below, two significant digits ($0.0017)."""
    if value is None:
        return "-"
    if value >= 0.1 or value == 0:
        return f"${value:,.2f}"
    return f"${value:.{1 - math.floor(math.log10(value))}f}"


def per_thousand(cost_per_answer: float | None) -> str:
    """Cost per answer reads best per 1,000 answers: a cached or quoted answer costs nothing."""
    return (
        "-" if cost_per_answer is None else f"{dollars(cost_per_answer * 1000)} per 1,000 answers"
    )


def millis(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counter.items()) or "none"


def table(header: Sequence[str], rows: list[Sequence[object]], text_columns: int = 1) -> list[str]:
    """Aligned columns: the first (names) and the last `text_columns - 1` left-aligned, figures right."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    left = {0, *range(len(header) - text_columns + 1, len(header))}
    return [
        "  "
        + "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in cells
    ]


def headline(report: dict) -> list[tuple[str, str]]:
    t = report["totals"]
    refusals = f"refused {percent(t['refusal_rate'])}" + (
        f" ({counts(t['by_reason'])})" if t["refused"] else ""
    )
    feedback = f"{UP} {t['up']:,} · {DOWN} {t['down']:,}"
    if t["up_rate"] is not None:
        feedback += f" ({percent(t['up_rate'])} {UP})"
    if t["down_reasons"]:
        feedback += f" · {DOWN} reasons: {counts(t['down_reasons'])}"
    return [
        ("Answers", f"{t['answers']:,} · {refusals}"),
        ("Feedback", feedback),
        ("Cost", f"{dollars(t['cost_usd'])} ({per_thousand(t['cost_per_answer_usd'])})"),
        ("Latency", f"p50 {millis(t['latency']['p50_ms'])} · p95 {millis(t['latency']['p95_ms'])}"),
        ("Cache", f"{percent(t['cache_hit_rate'])} of answers ({counts(t['cache_hits'])})"),
        ("Guards", f"{t['guard_failures']:,} model drafts rejected by the output guards"),
    ]


def gap_line(number: int, gap: dict) -> str:
    others = (
        f" · also: {'; '.join(repr(e) for e in gap['examples'][1:])}"
        if len(gap["examples"]) > 1
        else ""
    )
    where = ", ".join(c or "outside Slack" for c in gap["channels"][:3])
    closest = f" · closest: {', '.join(gap['closest'])}" if gap["closest"] else ""
    return f"{number:>3}. {gap['count']}x {gap['examples'][0]!r}{others} · {where}{closest}"


def render_text(report: dict) -> str:
    window = report["window"]
    lines = [
        f"Report {window['from']} .. {window['to']} ({window['days']} day{'s' * (window['days'] != 1)})",
        "",
    ]
    width = max(len(name) for name, _ in headline(report))
    lines += [f"{name.ljust(width)}  {value}" for name, value in headline(report)]
    if (
        "loop" in report
    ):  # verified answers, the review queue, stale documents (bot/ops/loop_report.py)
        from bot.ops.loop_report import loop_lines

        lines += ["", *loop_lines(report["loop"])]
    if not report["totals"]["answers"]:
        return "\n".join([*lines, "", "No answers recorded in this window."])
    for title, rows in (
        ("By mode", report["feedback"]["by_mode"]),
        ("By tier", report["feedback"]["by_tier"]),
    ):
        lines += ["", title]
        lines += table(
            ["", "answers", UP, DOWN, f"{UP} rate"],
            [
                [name, f"{r['answers']:,}", r["up"], r["down"], percent(r["up_rate"])]
                for name, r in rows.items()
            ],
        )
    lines += ["", "Prompt variants"]
    lines += table(
        [
            "",
            "answers",
            f"{UP} rate (95% CI, rated)",
            "refused",
            "guard fails",
            "cost/1k",
            "p50",
            "p95",
        ],
        [
            [
                name,
                f"{v['answers']:,}",
                variant_rate(v),
                percent(v["refusal_rate"]),
                f"{v['guard_failures_per_answer'] or 0:.2f}",
                dollars(v["cost_per_answer_usd"] * 1000),
                millis(v["latency"]["p50_ms"]),
                millis(v["latency"]["p95_ms"]),
            ]
            for name, v in report["by_variant"].items()
        ],
    )
    lines += [f"  {verdict['sentence']}" for verdict in report["comparison"]]
    if report["documents"]:
        lines += ["", f"Cited documents (most {DOWN} first)"]
        lines += table(
            ["", "cited", UP, DOWN, f"{DOWN} reasons"],
            [
                [d["title"][:60], d["cited"], d["up"], d["down"], counts(d["down_reasons"])]
                for d in report["documents"]
            ],
            text_columns=2,
        )
    lines += ["", "Unanswered questions, grouped by meaning (most asked first)"]
    lines += [gap_line(n, g) for n, g in enumerate(report["gaps"], start=1)] or ["  none"]
    if report["downvoted"]:
        lines += ["", f"Latest {DOWN}"]
        for row in report["downvoted"]:
            said = f"{row['reason'] or 'no reason given'}" + (
                f": {row['comment']!r}" if row["comment"] else ""
            )
            day = time.strftime("%Y-%m-%d", time.gmtime(row["answered_at"]))
            lines.append(f"  {day} {row['question']!r} ({row['mode']}, {row['variant']}) - {said}")
    return "\n".join(lines)


def variant_rate(row: dict) -> str:
    if row["up_rate"] is None:
        return "no ratings"
    low, high = row["up_rate_ci"]
    return f"{percent(row['up_rate'])} ({percent(low)}-{percent(high)}, {row['up'] + row['down']})"


def render_slack(report: dict, command: str = "/kb") -> str:
    """A summary that fits a Slack message; the whole report is `bot report --html`."""
    window = report["window"]
    lines = [
        f"*Last {window['days']} day{'s' * (window['days'] != 1)}* ({window['from']} .. {window['to']})"
    ]
    lines += [f"*{name}*: {value}" for name, value in headline(report)]
    lines += [f"• {verdict['sentence']}" for verdict in report["comparison"]]
    worst = [d for d in report["documents"] if d["down"]][:3]
    if worst:
        lines.append(
            f"*Most {DOWN}*: "
            + "; ".join(
                f"{to_mrkdwn(d['title'])} ({d['down']} {DOWN}: {counts(d['down_reasons'])})"
                for d in worst
            )
        )
    if report["gaps"]:
        lines.append("*Asked, not answered* (grouped by meaning):")
        lines += [
            f"{n}. {g['count']}x “{to_mrkdwn(g['examples'][0])}”"
            + (f" (closest: {to_mrkdwn(g['closest'][0])})" if g["closest"] else "")
            for n, g in enumerate(report["gaps"][:SLACK_GAPS], start=1)
        ]
    if "loop" in report:
        from bot.ops.loop_report import loop_lines

        lines += loop_lines(report["loop"], slack=True)
    lines.append(
        f"`{command} report 30` for 30 days; `bot report --html FILE` for the full report with charts."
    )
    return "\n".join(lines)
