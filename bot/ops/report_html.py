"""The report (bot/ops/report.py) as one self-contained HTML page: figures first, then charts
(answers and 👎 per day, cost per day, the questions nobody answered, the variants' 👍 rates),
then the tables behind them. Inline CSS and SVG only: it opens from disk or a mail attachment."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from bot.ops.charts import Series, daily_columns, intervals
from bot.ops.report_text import dollars, millis, per_thousand, percent

ANSWERED, REFUSED, DOWNVOTED, COST = "#3b6ea5", "#c3ccd6", "#d1495b", "#4f8a5b"
CHART_GAPS = 10
HALF_WIDTH = 440
"""Charts in a half-width card get a narrower canvas, so their text keeps its size."""


def render_html(report: dict) -> str:
    env = Environment(
        loader=PackageLoader("bot.ops", "templates"), autoescape=select_autoescape(["html"])
    )
    env.filters.update(percent=percent, dollars=dollars, millis=millis, per_thousand=per_thousand)
    days = [row["day"] for row in report["by_day"]]
    by_day = report["by_day"]
    charts = {
        "answers": daily_columns(
            days,
            [
                Series("answered", [r["answers"] - r["refused"] for r in by_day], ANSWERED),
                Series("refused", [r["refused"] for r in by_day], REFUSED),
            ],
            beside=Series("\N{THUMBS DOWN SIGN}", [r["down"] for r in by_day], DOWNVOTED),
        ),
        "cost": daily_columns(
            days,
            [Series("cost", [r["cost_usd"] for r in by_day], COST)],
            fmt=dollars,
            unit="$",
            width=HALF_WIDTH,
        ),
        "variants": intervals(
            [
                (
                    name,
                    row["up_rate"],
                    row["up_rate_ci"],
                    f"{row['up'] + row['down']} rated · {row['answers']:,} answers",
                )
                for name, row in report["by_variant"].items()
            ]
        ),
    }
    most_asked = max((gap["count"] for gap in report["gaps"]), default=1)
    return env.get_template("report.html").render(
        report=report,
        t=report["totals"],
        charts=charts,
        colors={"answered": ANSWERED, "refused": REFUSED, "down": DOWNVOTED, "cost": COST},
        gaps=report["gaps"][:CHART_GAPS],
        more_gaps=report["gaps"][CHART_GAPS:],
        most_asked=most_asked,
    )
