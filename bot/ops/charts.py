"""Small inline SVG charts for the HTML report: columns per day and rates with their intervals.

Inline SVG keeps the report one self-contained file (no script, no CDN, prints well); each
mark carries a <title>, so hovering shows the exact figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Format = Callable[[float], str]

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 30
TICKS = 4
FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11" fill="#5f6b7a"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


def nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`: round axis ticks."""
    if value <= 0:
        return 0.25
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * (1 - 1e-9))


def decimals(step: float) -> int:
    """Digits after the point that tell ticks `step` apart."""
    return next(d for d in range(10) if abs(round(step, d) - step) < step * 1e-6)


def daily_columns(
    days: Sequence[str],
    stacked: Sequence[Series],
    beside: Series | None = None,
    fmt: Format = lambda v: f"{v:,.0f}",
    unit: str = "",
    width: int = WIDTH,
) -> Markup:
    """One column per day: `stacked` series on top of each other, `beside` as a thinner column
    next to it on the same scale. `fmt` writes a value in a tooltip; the axis reads `unit` and
    as many decimals as its ticks need."""
    step = nice_step(
        max(
            [sum(s.values[i] for s in stacked) for i in range(len(days))]
            + list(beside.values if beside else [])
            + [0]
        )
        / TICKS
    )
    top = step * TICKS
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    main_w = slot * (0.55 if beside else 0.7)
    parts = [_grid(step, plot_h, unit, width)]
    label_every = max(1, math.ceil(len(days) / (width // 60)))
    for i, day in enumerate(days):
        x = LEFT + i * slot + slot * 0.12
        base = 0.0
        tip = [f"{day}"] + [f"{s.name}: {fmt(s.values[i])}" for s in stacked]
        if beside:
            tip.append(f"{beside.name}: {fmt(beside.values[i])}")
        for series in stacked:
            height = series.values[i] / top * plot_h
            y = TOP + plot_h - base - height
            parts.append(_rect(x, y, main_w, height, series.color, " · ".join(tip)))
            base += height
        if beside:
            height = beside.values[i] / top * plot_h
            parts.append(
                _rect(
                    x + main_w + 2,
                    TOP + plot_h - height,
                    slot * 0.2,
                    height,
                    beside.color,
                    " · ".join(tip),
                )
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + main_w / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" {FONT}>'
                f"{escape(day[5:])}</text>"
            )
    return _svg(
        parts,
        "per day: " + ", ".join(s.name for s in [*stacked, *([beside] if beside else [])]),
        width=width,
    )


def intervals(rows: Sequence[tuple[str, float | None, tuple[float, float] | None, str]]) -> Markup:
    """A dot per row at its rate (0..1) with a line across its 95% interval; overlapping lines
    are the eye's significance test. Rows: (label, rate, (low, high), note)."""
    row_h, label_w, note_w = 30, 150, 170
    height = TOP + row_h * len(rows) + BOTTOM
    plot_w = WIDTH - label_w - note_w - RIGHT

    def x(rate: float) -> float:
        return label_w + rate * plot_w

    parts = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP}" y2="{height - BOTTOM}" stroke="#e3e8ee"/>'
        )
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle" {FONT}>{tick:.0%}</text>'
        )
    for i, (label, rate, ci, note) in enumerate(rows):
        y = TOP + row_h * i + row_h / 2
        parts.append(
            f'<text x="{label_w - 10}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#1f2933">'
            f"{escape(label)}</text>"
        )
        parts.append(f'<text x="{WIDTH - note_w + 8}" y="{y + 4:.1f}" {FONT}>{escape(note)}</text>')
        if rate is None or ci is None:
            continue
        tip = escape(f"{label}: {rate:.0%} (95% CI {ci[0]:.0%}-{ci[1]:.0%})")
        parts.append(
            f"<g><title>{tip}</title>"
            f'<line x1="{x(ci[0]):.1f}" x2="{x(ci[1]):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#3b6ea5" '
            f'stroke-width="3" stroke-linecap="round" opacity="0.45"/>'
            f'<circle cx="{x(rate):.1f}" cy="{y:.1f}" r="6" fill="#3b6ea5"/></g>'
        )
    return _svg(parts, "rate with 95% interval per variant", height)


def _grid(step: float, plot_h: float, unit: str, width: int) -> str:
    lines = []
    for tick in range(TICKS + 1):
        y = TOP + plot_h - plot_h * tick / TICKS
        label = f"{unit}{step * tick:,.{decimals(step) if tick else 0}f}"
        lines.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e8ee"/>'
        )
        lines.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{escape(label)}</text>'
        )
    return "".join(lines)


def _rect(x: float, y: float, width: float, height: float, color: str, tip: str) -> str:
    if height <= 0:
        return ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{color}" rx="1.5">'
        f"<title>{escape(tip)}</title></rect>"
    )


def _svg(parts: list[str], label: str, height: int = HEIGHT, width: int = WIDTH) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
