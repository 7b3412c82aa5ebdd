"""`bot report`: what the bot did over the last days, from the answers and feedback in Redis.

One plain dict (its JSON is the `--json` contract, see the README): `totals`, `by_day`,
`feedback` (👍/👎 by mode and tier), `by_variant` and `comparison` (the prompt variants side by
side), `documents` (cited documents and their ratings), `downvoted` (the latest 👎 with their
reasons) and `gaps` (the questions nobody answered, grouped by meaning). Rendered as text by
bot/ops/report_text.py and as a page by bot/ops/report_html.py.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import numpy as np

from bot.chain.turn_log import Feedback, TurnLog, TurnRecord, last_days
from bot.ops.comparison import Rates, compare
from bot.ops.unanswered import Embed, group, unanswered

NO_VARIANT = "(none)"
"""The variant of answers recorded before prompt variants existed."""
TOP_DOCUMENTS = 20
TOP_GAPS = 20
LATEST_DOWNVOTES = 20

Votes = dict[str, list[Feedback]]


def build(log: TurnLog, days: int, embed: Embed, now: float | None = None) -> dict:
    window = last_days(days, now)
    records = list(log.turns(window))
    votes = log.rated(window)
    return {
        "window": {
            "days": days,
            "from": window[0],
            "to": window[-1],
            "generated_at": time.time() if now is None else now,
        },
        "totals": totals(records, votes),
        "by_day": by_day(records, votes, window),
        "feedback": {
            "by_mode": breakdown(records, votes, lambda t: t.mode),
            "by_tier": breakdown(records, votes, lambda t: t.tier),
        },
        "by_variant": by_variant(records, votes),
        "comparison": [verdict.as_dict() for verdict in comparisons(records, votes)],
        "documents": documents(records, votes),
        "downvoted": downvoted(records, votes),
        "gaps": [gap.as_dict() for gap in group(unanswered(records), embed)[:TOP_GAPS]],
    }


def tally(turns: Iterable[TurnRecord], votes: Votes) -> tuple[int, int]:
    ratings = [f.rating for t in turns for f in votes.get(t.id, [])]
    return ratings.count("up"), ratings.count("down")


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def latency(turns: list[TurnRecord]) -> dict[str, float | None]:
    if not turns:
        return {"p50_ms": None, "p95_ms": None}
    p50, p95 = np.percentile([t.latency_ms for t in turns], [50, 95])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1)}


def totals(records: list[TurnRecord], votes: Votes) -> dict:
    up, down = tally(records, votes)
    refused = [t for t in records if t.refused]
    cost = sum(t.cost_usd for t in records)
    reasons = Counter(
        f.reason for t in records for f in votes.get(t.id, []) if f.rating == "down" and f.reason
    )
    return {
        "answers": len(records),
        "refused": len(refused),
        "refusal_rate": rate(len(refused), len(records)),
        "by_reason": dict(Counter(t.reason for t in refused).most_common()),
        "by_mode": dict(Counter(t.mode for t in records).most_common()),
        "by_tier": dict(Counter(t.tier for t in records).most_common()),
        "up": up,
        "down": down,
        "up_rate": rate(up, up + down),
        "down_reasons": dict(reasons.most_common()),
        "cost_usd": round(cost, 6),
        "cost_per_answer_usd": round(cost / len(records), 6) if records else None,
        "latency": latency(records),
        "cache_hit_rate": rate(sum(t.mode == "cache" for t in records), len(records)),
        "cache_hits": dict(Counter(t.cache for t in records if t.mode == "cache").most_common()),
        "guard_failures": sum(t.guard_failures for t in records),
        "channels": len({t.channel for t in records if t.channel}),
    }


def by_day(records: list[TurnRecord], votes: Votes, days: list[str]) -> list[dict]:
    grouped: dict[str, list[TurnRecord]] = defaultdict(list)
    for turn in records:
        grouped[time.strftime("%Y-%m-%d", time.gmtime(turn.at))].append(turn)
    rows = []
    for day in days:
        turns = grouped.get(day, [])
        up, down = tally(turns, votes)
        rows.append(
            {
                "day": day,
                "answers": len(turns),
                "refused": sum(t.refused for t in turns),
                "up": up,
                "down": down,
                "cost_usd": round(sum(t.cost_usd for t in turns), 6),
            }
        )
    return rows


def grouped(
    records: list[TurnRecord], key: Callable[[TurnRecord], str]
) -> list[tuple[str, list[TurnRecord]]]:
    """The records grouped by `key`, the largest group first."""
    groups: dict[str, list[TurnRecord]] = defaultdict(list)
    for turn in records:
        groups[key(turn)].append(turn)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


def breakdown(
    records: list[TurnRecord], votes: Votes, key: Callable[[TurnRecord], str]
) -> dict[str, dict]:
    rows = {}
    for name, turns in grouped(records, key):
        up, down = tally(turns, votes)
        rows[name] = {"answers": len(turns), "up": up, "down": down, "up_rate": rate(up, up + down)}
    return rows


def variant_of(turn: TurnRecord) -> str:
    return turn.variant or NO_VARIANT


def by_variant(records: list[TurnRecord], votes: Votes) -> dict[str, dict]:
    rows = {}
    for name, turns in grouped(records, variant_of):
        up, down = tally(turns, votes)
        refused = sum(t.refused for t in turns)
        failures = sum(t.guard_failures for t in turns)
        rows[name] = {
            "answers": len(turns),
            "up": up,
            "down": down,
            "up_rate": rate(up, up + down),
            "up_rate_ci": Rates(name, up, down).interval(),
            "refused": refused,
            "refusal_rate": rate(refused, len(turns)),
            "guard_failures": failures,
            "guard_failures_per_answer": rate(failures, len(turns)),
            "cost_per_answer_usd": round(sum(t.cost_usd for t in turns) / len(turns), 6),
            "latency": latency(turns),
        }
    return rows


def comparisons(records: list[TurnRecord], votes: Votes) -> list:
    """Each variant against the one that answered most (the baseline of a gradual rollout)."""
    variants = by_variant(records, votes)
    if len(variants) < 2:
        return []
    names = list(variants)
    baseline = Rates(names[0], variants[names[0]]["up"], variants[names[0]]["down"])
    return [
        compare(baseline, Rates(name, variants[name]["up"], variants[name]["down"]))
        for name in names[1:]
    ]


def documents(records: list[TurnRecord], votes: Votes) -> list[dict]:
    """The documents answers cited (refusals cite nothing), with the ratings of those answers."""
    cited: dict[str, dict] = {}
    for turn in records:
        if turn.refused:
            continue
        feedback = votes.get(turn.id, [])
        for doc_id, title in dict.fromkeys((s["doc_id"], s["title"]) for s in turn.sources):
            row = cited.setdefault(
                doc_id,
                {
                    "doc_id": doc_id,
                    "title": title,
                    "cited": 0,
                    "up": 0,
                    "down": 0,
                    "down_reasons": Counter(),
                },
            )
            row["cited"] += 1
            row["up"] += sum(f.rating == "up" for f in feedback)
            row["down"] += sum(f.rating == "down" for f in feedback)
            row["down_reasons"].update(
                f.reason for f in feedback if f.rating == "down" and f.reason
            )
    rows = sorted(cited.values(), key=lambda r: (-r["down"], -r["cited"], r["title"]))[
        :TOP_DOCUMENTS
    ]
    return [{**row, "down_reasons": dict(row["down_reasons"].most_common())} for row in rows]


def downvoted(records: list[TurnRecord], votes: Votes) -> list[dict]:
    """The latest answers rated 👎, with what the users said: the review queue."""
    rows = []
    for turn in records:
        for f in votes.get(turn.id, []):
            if f.rating == "down":
                rows.append(
                    {
                        "turn": turn.id,
                        "question": turn.question,
                        "answer": turn.shown_answer,
                        "mode": turn.mode,
                        "tier": turn.tier,
                        "variant": variant_of(turn),
                        "reason": f.reason,
                        "comment": f.comment,
                        "sources": [s["title"] for s in turn.sources],
                        "channel": turn.channel,
                        "answered_at": turn.at,
                        "at": f.at,
                    }
                )
    return sorted(rows, key=lambda r: -r["at"])[:LATEST_DOWNVOTES]
