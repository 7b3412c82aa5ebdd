"""The Slack listeners for feedback: Slack's own 👍/👎 (`feedback_buttons`) under every answer, and the optional modal a 👎 opens
to say what was wrong. Both are stored next to the answer they rate (bot/chain/turn_log.py)."""

from __future__ import annotations

import logging

import redis
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chain.i18n import language_of, text
from bot.chain.turn_log import REASONS
from bot.deps import Deps
from bot.slack.blocks import (
    FEEDBACK_ACTION,
    FEEDBACK_MODAL,
    MAX_COMMENT_CHARS,
    feedback_modal,
    rating_of,
)
from guards.pii import redact

THANKS = {"up": "feedback.thanks", "down": "feedback.stored"}


def register_feedback(app: App, deps: Deps) -> None:
    @app.action(FEEDBACK_ACTION)
    def on_feedback(ack, body, action, respond, client, logger):
        """One click stores the rating; a 👎 then opens a modal asking what was wrong (optional)."""
        ack()
        rating, turn_id = rating_of(action.get("value", ""))
        if not rating:
            logger.warning("feedback with a value not ours: %r", action.get("value"))
            return
        turn = deps.turns.rate(turn_id, body.get("user", {}).get("id", ""), rating)
        deps.telemetry.feedback(rating, turn.variant if turn else "")
        language = (
            language_of(turn.question) if turn else "en"
        )  # thanked in the language they asked in
        if turn is None:
            logger.info("feedback on an expired or unknown turn %s", turn_id)
        elif rating == "down" and turn.cache_key and deps.cache is not None:
            deps.cache.evict(
                turn.cache_key, turn.prompt_version
            )  # a bad answer is not served again
        modal = feedback_modal(turn_id, REASONS, language)
        if rating == "down" and open_modal(client, body.get("trigger_id", ""), modal, logger):
            return  # the modal says what happens to the 👎
        respond(
            text=text(language, THANKS[rating]), response_type="ephemeral", replace_original=False
        )

    @app.view(FEEDBACK_MODAL)
    def on_feedback_reason(ack, body, view, logger):
        values = view.get("state", {}).get("values", {})
        reason = (values.get("reason", {}).get("reason", {}).get("selected_option") or {}).get(
            "value", ""
        )
        comment = (values.get("comment", {}).get("comment", {}).get("value") or "").strip()
        # The modal was labelled in the question's language; its own title says which.
        language = language_of(view.get("title", {}).get("text", ""))
        if reason not in REASONS:
            return ack(
                response_action="errors",
                errors={"reason": text(language, "feedback.pick_a_reason")},
            )
        if reason == "other" and not comment:
            return ack(
                response_action="errors", errors={"comment": text(language, "feedback.say_what")}
            )
        try:
            # A comment may name people or carry contact details: stored redacted, like questions.
            deps.turns.explain(
                view.get("private_metadata", ""),
                body.get("user", {}).get("id", ""),
                reason,
                redact(comment[:MAX_COMMENT_CHARS], deps.settings.guards.pii_phone_region)[0],
            )
        except redis.RedisError:
            logger.exception("could not store a feedback reason")
            return ack(
                response_action="errors", errors={"comment": text(language, "feedback.not_saved")}
            )
        return ack()


def open_modal(client: WebClient, trigger_id: str, view: dict, logger: logging.Logger) -> bool:
    """Open `view` for the user who clicked; False when Slack would not (a trigger lives 3 s)."""
    if not trigger_id:
        return False
    try:
        client.views_open(trigger_id=trigger_id, view=view)
        return True
    except SlackApiError as error:
        logger.warning("could not open a modal: %s", error.response.get("error"))
        return False
