"""Block Kit for the expert loop: the review queue (`/kb review`), the verified answers
(`/kb verified`) and the modal that edits one before approving it."""

from __future__ import annotations

import time
from typing import Any

from bot.chain.escalations import Escalation
from bot.chain.verified import Verified
from bot.slack.blocks import MAX_SECTION_CHARS, to_mrkdwn

EDIT_MODAL = "verified_edit"
SHOWN = 20
"""Entries one message shows (Slack allows 50 blocks)."""


def section(mrkdwn: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": mrkdwn[:MAX_SECTION_CHARS]},
    }


def button(label: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": label},
        **({"style": style} if style else {}),
    }


def entry_text(entry: Verified) -> str:
    review = f" · review by {entry.review_by}" if entry.review_by else ""
    return (
        f"*{to_mrkdwn(entry.question)}*\n{to_mrkdwn(entry.answer)}\n"
        f"_owner <@{entry.owner}> · for {', '.join(entry.audience)}{review}_"
        + (f" · <{entry.source}|source>" if entry.source.startswith("http") else "")
    )


def review_queue(waiting: list[Escalation], drafts: list[Verified]) -> dict[str, Any]:
    """The message `/kb review` shows: drafts with approve / edit / reject, then open questions."""
    blocks: list[dict[str, Any]] = [
        section(
            f"*Review queue*: {len(drafts)} drafts, {len(waiting)} questions waiting for an expert"
        )
    ]
    for draft in drafts[:SHOWN]:
        blocks += [
            section(entry_text(draft)),
            {
                "type": "actions",
                "block_id": f"review:{draft.id}",
                "elements": [
                    button("Approve", "review_approve", draft.id, "primary"),
                    button("Edit", "review_edit", draft.id),
                    button("Reject", "review_reject", draft.id, "danger"),
                ],
            },
        ]
    for escalation in waiting[:SHOWN]:
        hours = (time.time() - escalation.at) / 3600
        blocks.append(
            section(
                f"• _{to_mrkdwn(escalation.question)}_ (asked in <#{escalation.channel}>, "
                f"waiting {hours:.0f} h)"
            )
        )
    return {
        "text": f"Review queue: {len(drafts)} drafts, {len(waiting)} waiting",
        "blocks": blocks,
    }


def verified_list(entries: list[Verified], today: str) -> dict[str, Any]:
    """The message `/kb verified` shows: each approved answer with edit / retire."""
    blocks: list[dict[str, Any]] = [section(f"*Verified answers*: {len(entries)}")]
    for entry in entries[:SHOWN]:
        overdue = " *(past its review date: not served)*" if entry.overdue(today) else ""
        blocks += [
            section(entry_text(entry) + overdue),
            {
                "type": "actions",
                "block_id": f"verified:{entry.id}",
                "elements": [
                    button("Edit", "review_edit", entry.id),
                    button("Retire", "verified_retire", entry.id, "danger"),
                ],
            },
        ]
    return {"text": f"{len(entries)} verified answers", "blocks": blocks}


def text_input(
    block_id: str,
    label: str,
    value: str,
    multiline: bool = False,
    optional: bool = False,
) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "plain_text_input",
            "action_id": block_id,
            "initial_value": value,
            "multiline": multiline,
        },
    }


def edit_modal(entry: Verified) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": EDIT_MODAL,
        "private_metadata": entry.id,
        "title": {"type": "plain_text", "text": "Verified answer"},
        "submit": {"type": "plain_text", "text": "Approve"},
        "blocks": [
            text_input("question", "Question", entry.question),
            text_input("answer", "Answer (served word for word)", entry.answer, multiline=True),
            text_input(
                "paraphrases",
                "Other wordings, one a line",
                "\n".join(entry.paraphrases),
                multiline=True,
                optional=True,
            ),
            text_input(
                "audience",
                "Who may be served it (everyone, channel:C…, usergroup:S…)",
                ", ".join(entry.audience),
            ),
            text_input("review_by", "Review by (YYYY-MM-DD)", entry.review_by, optional=True),
        ],
    }


def edited(view: dict) -> dict[str, Any]:
    """The modal's fields as changes to the entry."""
    values = view.get("state", {}).get("values", {})

    def value(name: str) -> str:
        return (values.get(name, {}).get(name, {}).get("value") or "").strip()

    return {
        "question": value("question"),
        "answer": value("answer"),
        "paraphrases": tuple(line for line in value("paraphrases").splitlines() if line.strip()),
        "audience": tuple(value("audience").split(",")),
        "review_by": value("review_by"),
    }
