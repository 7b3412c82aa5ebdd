"""Render an Answer as Slack Block Kit: the answer, numbered sources, a context line and
Slack's feedback buttons, whose values name the turn they rate, labelled in the answer's language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.chain.answer import Answer
from bot.chain.i18n import text
from bot.ops.traceview import SHORT_ID

MAX_SECTION_CHARS = 2900
"""Slack rejects section text over 3000 characters."""


def to_mrkdwn(text: str) -> str:
    """Slack's mrkdwn needs &, < and > escaped; **bold** becomes *bold*."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("**", "*")


def source_line(number: int, label: str, source: str) -> str:
    label = to_mrkdwn(label)
    if source.startswith(("http://", "https://")):
        return f"[{number}] <{source}|{label}>"
    return f"[{number}] {label} ({to_mrkdwn(source)})"


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    """The whole answer as one message (chat.postMessage, or a fallback from streaming)."""
    return [_section(to_mrkdwn(answer.text)), *detail_blocks(answer)]


def detail_blocks(answer: Answer) -> list[dict[str, Any]]:
    """What follows the answer's text: its rows, numbered sources, a context line and the
    feedback buttons (a streamed reply's text is streamed; these end it, at chat.stopStream)."""
    blocks: list[dict[str, Any]] = []
    if answer.table is not None:
        blocks.append(table_section(answer))
    if answer.sources:
        heading = (
            f"*{text(answer.language, 'sources.closest' if answer.refused else 'sources.heading')}*"
        )
        lines = [
            source_line(n, p.chunk.label, p.chunk.source)
            for n, p in enumerate(answer.sources, start=1)
        ]
        blocks.append(_section("\n".join([heading, *lines])))
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context_line(answer)}]}
    )
    if answer.turn_id:
        blocks.append(feedback_block(answer.turn_id, answer.language))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"expert:{answer.turn_id}",
                "elements": [ask_expert_button(answer.turn_id, answer.language)],
            }
        )
    return blocks


SHOWN_ROWS = 15


def table_section(answer: Answer) -> dict[str, Any]:
    """The rows an answer from the tables was phrased from, and the SQL, so a user can check it."""
    result = answer.table
    heading = text(answer.language, "answer.table_sql", tables=", ".join(result.tables))
    rows = result.text_table(SHOWN_ROWS)[: MAX_SECTION_CHARS - len(result.sql) - len(heading) - 40]
    return _section(f"{to_mrkdwn(heading)}\n```{to_mrkdwn(result.sql)}```\n```{to_mrkdwn(rows)}```")


FEEDBACK_ACTION = "feedback"
"""The action id of the 👍/👎 pair; the value of the button clicked is `rating:turn_id`."""
RATINGS = ("up", "down")


def feedback_block(turn_id: str, language: str = "en") -> dict[str, Any]:
    """Slack's own 👍/👎 (a `feedback_buttons` element in a `context_actions` block)."""

    def button(rating: str, label: str) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": text(language, label)},
            "accessibility_label": text(language, label),
            "value": f"{rating}:{turn_id}",
        }

    return {
        "type": "context_actions",
        "block_id": f"feedback:{turn_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": button("up", "feedback.helpful"),
                "negative_button": button("down", "feedback.not_helpful"),
            }
        ],
    }


def rating_of(value: str) -> tuple[str, str]:
    """(rating, turn id) from a clicked button's value; ("", "") when it is not one of ours."""
    rating, _, turn_id = value.partition(":")
    return (rating, turn_id) if rating in RATINGS and turn_id else ("", "")


ASK_EXPERT = "ask_expert"


def ask_expert_button(turn_id: str, language: str = "en") -> dict[str, Any]:
    """Under every answer and refusal: sends the question to the channel's experts (bot/slack/experts.py)."""
    return {
        "type": "button",
        "action_id": ASK_EXPERT,
        "value": turn_id,
        "text": {
            "type": "plain_text",
            "text": f"\N{RAISED HAND} {text(language, 'experts.ask')}",
            "emoji": True,
        },
    }


FEEDBACK_MODAL = "feedback_reason"
"""The callback id of the modal a 👎 opens."""
MAX_COMMENT_CHARS = 1000


def feedback_modal(turn_id: str, reasons: Iterable[str], language: str = "en") -> dict[str, Any]:
    """Asks what was wrong with an answer rated 👎; `reasons` are the values it may be."""
    options = [
        {
            "value": value,
            "text": {"type": "plain_text", "text": text(language, f"feedback.reason.{value}")},
            "description": {"type": "plain_text", "text": text(language, f"feedback.hint.{value}")},
        }
        for value in reasons
    ]
    return {
        "type": "modal",
        "callback_id": FEEDBACK_MODAL,
        "private_metadata": turn_id,
        "title": {"type": "plain_text", "text": text(language, "feedback.not_helpful")},
        "submit": {"type": "plain_text", "text": text(language, "feedback.send")},
        "close": {"type": "plain_text", "text": text(language, "feedback.skip")},
        "blocks": [
            _section(text(language, "feedback.stored")),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": text(language, "feedback.what_was_wrong")},
                "element": {"type": "radio_buttons", "action_id": "reason", "options": options},
            },
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": {
                    "type": "plain_text",
                    "text": text(language, "feedback.what_should_it_say"),
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "comment",
                    "multiline": True,
                    "max_length": MAX_COMMENT_CHARS,
                },
            },
        ],
    }


def context_line(answer: Answer) -> str:
    language = answer.language
    parts = [text(language, "context.mode", mode=answer.mode)]
    if answer.attribution:
        parts.insert(0, answer.attribution)
    if answer.mode == "llm" and answer.usage is not None:
        parts.append(text(language, "context.model", tier=answer.usage.tier))
    if answer.confidence is not None:
        parts.append(text(language, "context.confidence", confidence=answer.confidence))
    if answer.refused and answer.reason:
        parts.append(text(language, f"reason.{answer.reason}"))
    if answer.turn_id:
        # An id, not a link: an admin can ask `/kb why` about it; nothing private leaves the thread.
        parts.append(text(language, "context.turn", turn=answer.turn_id[:SHORT_ID]))
    return " · ".join(parts)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}}
