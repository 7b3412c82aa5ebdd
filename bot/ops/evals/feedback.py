"""`bot eval export-feedback`: every rated answer as an evaluation case for a reviewer.

A case is what `bot eval answers` reads (`question`, `expected_sources`, `should_refuse`), with
the two fields a reviewer fills left as null, next to what was answered and what the users
said about it. Run as exported, the file measures whether the answers those users disliked
have changed; once a reviewer has named the right sources or marked the questions the bot
must refuse, it scores them too.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.chain.turn_log import RatedTurn
from bot.ops.unanswered import asked


def cases(rated: Iterable[RatedTurn], rating: str | None = None) -> list[dict]:
    """One case per rated answer, oldest first; with `rating`, only answers someone rated so."""
    return [
        case(entry)
        for entry in rated
        if rating is None or any(f.rating == rating for f in entry.feedback)
    ]


def case(entry: RatedTurn) -> dict:
    turn, feedback = entry.turn, sorted(entry.feedback, key=lambda f: f.at)
    ratings = [f.rating for f in feedback]
    return {
        # A follow-up is exported as it was searched: "and for interns?" means nothing alone.
        "question": asked(turn),
        "expected_sources": None,
        "should_refuse": None,
        "rating": "down" if "down" in ratings else "up",
        "up": ratings.count("up"),
        "down": ratings.count("down"),
        "reasons": list(dict.fromkeys(f.reason for f in feedback if f.reason)),
        "comments": [f.comment for f in feedback if f.comment],
        "answer_given": turn.shown_answer,
        "sources_given": [source["title"] for source in turn.sources],
        "refused": turn.refused,
        "mode": turn.mode,
        "variant": turn.variant,
        "prompt_version": turn.prompt_version,
        "turn_id": turn.id,
        "channel": turn.channel,
        "answered_at": turn.at,
    }
