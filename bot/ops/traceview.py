"""A turn's trace read back from Redis and drawn as a tree: `bot trace TURN_ID` and `/kb why`.

The spans are the ones bot/ops/tracing.py keeps; each line says a step, how long it took, when it
started after the turn did, and its attributes (what the step saw and decided).

A turn whose answer cites a restricted source (or whose outcome is not recorded yet) is
drawn with the attributes that may carry text drawn from it withheld: the follow-up's rewrite,
the SQL, the guards' objections to a draft and the notes. Ids, titles, scores and timings stay.
"""

from __future__ import annotations

import json
import re

import redis

from bot.chain.turn_log import WITHHELD
from bot.errors import TraceNotFound
from bot.ops.tracing import SOURCE_TEXT

TURN_ID = re.compile(r"^[0-9a-f]{6,32}$")
SHORT_ID = 8
"""Characters of a turn id shown in Slack's context line; enough to find it again."""
MAX_VALUE_CHARS = 160


class TraceStore:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def spans(self, turn: str) -> list[dict]:
        """The spans of the turn with this id (or a unique start of it), oldest first."""
        turn_id = self.resolve(turn)
        return withheld(
            [json.loads(raw) for raw in self._redis.lrange(f"{self._prefix}trace:{turn_id}", 0, -1)]
        )

    def resolve(self, turn: str) -> str:
        turn = turn.strip().lower()
        if not TURN_ID.match(turn):
            raise TraceNotFound(
                f"{turn!r} is not a turn id: 6 to 32 hexadecimal characters, as shown in "
                "`bot ask --json` (turn_id) or in the answer's context line in Slack."
            )
        if len(turn) == 32 and self._redis.exists(f"{self._prefix}trace:{turn}"):
            return turn
        matches = [
            member
            for member, _ in self._redis.zscan_iter(f"{self._prefix}traces", match=f"{turn}*")
        ]
        if len(matches) > 1:
            raise TraceNotFound(f"{len(matches)} turns start with {turn}; give more of the id.")
        if not matches:
            raise TraceNotFound(
                f"No trace of turn {turn} is kept: traces are kept for TRACE_RETENTION_S and "
                "for the newest TRACE_KEEP turns, and only where TRACE_KEEP is not 0."
            )
        return matches[0]


def withheld(spans: list[dict]) -> list[dict]:
    """The spans as an admin may read them: with SOURCE_TEXT withheld unless the turn's root
    span says its sources are everyone's (a root not exported yet says nothing: withheld too)."""
    root = next((span for span in spans if not span["parent_id"]), None)
    if root is not None and root["attributes"].get("kb.restricted") is False:
        return spans
    return [
        {
            **span,
            "attributes": {
                key: WITHHELD if key in SOURCE_TEXT else value
                for key, value in span["attributes"].items()
            },
        }
        for span in spans
    ]


def tree(spans: list[dict]) -> list[dict]:
    """The spans nested under their parents, each with `ms` (duration) and `at_ms` (since the
    turn began); roots first (one per turn)."""
    if not spans:
        return []
    began = min(span["start_ns"] for span in spans)
    nodes = {span["span_id"]: {**_timed(span, began), "children": []} for span in spans}
    roots = []
    for span in sorted(spans, key=lambda s: s["start_ns"]):
        parent = nodes.get(span["parent_id"])
        (parent["children"] if parent else roots).append(nodes[span["span_id"]])
    return roots


def _timed(span: dict, began: int) -> dict:
    return {
        "name": span["name"],
        "ms": round((span["end_ns"] - span["start_ns"]) / 1e6, 2),
        "at_ms": round((span["start_ns"] - began) / 1e6, 2),
        "status": span["status"],
        "error": span.get("error", ""),
        "attributes": span["attributes"],
    }


def render(spans: list[dict]) -> str:
    lines: list[str] = []
    for root in tree(spans):
        _draw(root, "", "", lines)
    return "\n".join(lines)


def _draw(node: dict, lead: str, child_lead: str, lines: list[str]) -> None:
    status = f"  ERROR {node['error']}".rstrip() if node["status"] == "ERROR" else ""
    lines.append(f"{lead}{node['name']}  {node['ms']:.1f} ms (at {node['at_ms']:.1f}){status}")
    for key, value in node["attributes"].items():
        lines.append(f"{child_lead}{'│ ' if node['children'] else '  '}  {key} = {_value(value)}")
    for number, child in enumerate(node["children"]):
        last = number == len(node["children"]) - 1
        _draw(
            child,
            child_lead + ("└─ " if last else "├─ "),
            child_lead + ("   " if last else "│  "),
            lines,
        )


def _value(value) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"
