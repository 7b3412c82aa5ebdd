"""Storing a rating of an answer, for an edge without Slack's buttons (the MCP server's
`rate_answer`): the same steps as Slack's 👍/👎 and its modal (bot/slack/feedback_buttons.py),
next to the answer's turn record (bot/chain/turn_log.py). A 👎 retires the answer from the
answer cache, so it is not served again; a comment is stored with personal data redacted."""

from __future__ import annotations

from bot.chain.turn_log import REASONS, Rating, TurnRecord
from bot.deps import Deps
from guards.pii import redact

MAX_COMMENT_CHARS = 1000


class FeedbackError(ValueError):
    """A rating that cannot be stored as given; the message says what to send instead."""


def rate(
    deps: Deps, turn_id: str, user: str, rating: Rating, reason: str = "", comment: str = ""
) -> TurnRecord:
    """Store `user`'s rating of the turn (a second one replaces the first) and, after a 👎, why."""
    if reason and rating != "down":
        raise FeedbackError("A reason goes with a thumbs-down only (helpful: false).")
    if reason and reason not in REASONS:
        raise FeedbackError(f"reason must be one of {', '.join(REASONS)}.")
    if reason == "other" and not comment.strip():
        raise FeedbackError("With reason `other`, say in the comment what was wrong.")
    turn = deps.turns.get(turn_id)
    if turn is None:
        raise FeedbackError(
            f"There is no answer {turn_id!r}: the turn_id of an answer (from `ask`) is "
            "needed, and answers are kept for a limited time."
        )
    deps.turns.rate(turn_id, user, rating)
    deps.telemetry.feedback(rating, turn.variant)
    if rating == "down" and turn.cache_key and deps.cache is not None:
        deps.cache.evict(turn.cache_key, turn.prompt_version)  # a bad answer is not served again
    if reason:
        text = redact(comment.strip()[:MAX_COMMENT_CHARS], deps.settings.guards.pii_phone_region)[0]
        deps.turns.explain(turn_id, user, reason, text)
    return turn
