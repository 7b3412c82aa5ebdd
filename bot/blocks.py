"""Render an Answer as Slack Block Kit: the answer, numbered sources, a context line and
feedback buttons whose value is the turn they rate."""

from __future__ import annotations

from typing import Any

from bot.models import Answer
from bot.traceview import SHORT_ID

MAX_SECTION_CHARS = 2900
"""Slack rejects section text over 3000 characters."""

REASON_TEXT = {
    "no_answer": "No source in the knowledge base answers this.",
    "prompt_injection": "This request was blocked.",
    "off_topic": "This is outside what I can help with.",
    "too_long": "The message was too long.",
    "error": "Something went wrong on my side.",
}


def to_mrkdwn(text: str) -> str:
    """Slack's mrkdwn needs &, < and > escaped; **bold** becomes *bold*."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("**", "*")


def source_line(number: int, title: str, section: str, source: str) -> str:
    label = to_mrkdwn(f"{title} > {section}" if section else title)
    if source.startswith(("http://", "https://")):
        return f"[{number}] <{source}|{label}>"
    return f"[{number}] {label} ({to_mrkdwn(source)})"


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [_section(to_mrkdwn(answer.text))]
    if answer.sources:
        heading = "*Closest sources*" if answer.refused else "*Sources*"
        lines = [source_line(n, p.chunk.title, p.chunk.section, p.chunk.source)
                 for n, p in enumerate(answer.sources, start=1)]
        blocks.append(_section("\n".join([heading, *lines])))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context_line(answer)}]})
    if answer.turn_id:
        blocks.append(feedback_buttons(answer.turn_id))
    return blocks


FEEDBACK_ACTIONS = {"feedback_up": "up", "feedback_down": "down"}


def feedback_buttons(turn_id: str) -> dict[str, Any]:
    return {"type": "actions", "block_id": f"feedback:{turn_id}", "elements": [
        {"type": "button", "action_id": "feedback_up", "value": turn_id,
         "text": {"type": "plain_text", "text": "\N{THUMBS UP SIGN} Helpful", "emoji": True}},
        {"type": "button", "action_id": "feedback_down", "value": turn_id,
         "text": {"type": "plain_text", "text": "\N{THUMBS DOWN SIGN} Not helpful", "emoji": True}},
    ]}


FEEDBACK_MODAL = "feedback_reason"
"""The callback id of the modal a 👎 opens."""
FEEDBACK_STORED = ("Thanks: your \N{THUMBS DOWN SIGN} is stored with this answer, and the answer is not reused "
                   "from the answer cache. The bot's admins see every \N{THUMBS DOWN SIGN}, and the reason you give, "
                   "in its feedback report.")
REASON_HINTS = {
    "wrong": "It says something that is not true.",
    "outdated": "It was true once; the rules have changed.",
    "incomplete": "It leaves out part of the answer.",
    "other": "Say what below.",
}
MAX_COMMENT_CHARS = 1000


def feedback_modal(turn_id: str, reasons: dict[str, str]) -> dict[str, Any]:
    """Asks what was wrong with an answer rated 👎; `reasons` maps values to labels."""
    options = [{"value": value, "text": {"type": "plain_text", "text": label},
                "description": {"type": "plain_text", "text": REASON_HINTS.get(value, label)}}
               for value, label in reasons.items()]
    return {
        "type": "modal", "callback_id": FEEDBACK_MODAL, "private_metadata": turn_id,
        "title": {"type": "plain_text", "text": "Not helpful"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            _section(FEEDBACK_STORED),
            {"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "What was wrong?"},
             "element": {"type": "radio_buttons", "action_id": "reason", "options": options}},
            {"type": "input", "block_id": "comment", "optional": True,
             "label": {"type": "plain_text", "text": "What should it have said? (optional)"},
             "element": {"type": "plain_text_input", "action_id": "comment", "multiline": True,
                         "max_length": MAX_COMMENT_CHARS}},
        ],
    }


def context_line(answer: Answer) -> str:
    parts = [f"mode: {answer.mode}"]
    if answer.mode == "llm" and answer.usage is not None:
        parts.append(f"model: {answer.usage.tier}")
    if answer.confidence is not None:
        parts.append(f"confidence: {answer.confidence:.2f}")
    if answer.refused and answer.reason:
        parts.append(REASON_TEXT.get(answer.reason, answer.reason))
    if answer.turn_id:
        # An id, not a link: an admin can ask `/kb why` about it; nothing private leaves the thread.
        parts.append(f"turn {answer.turn_id[:SHORT_ID]}")
    return " · ".join(parts)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_CHARS]}}
