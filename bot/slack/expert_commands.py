"""`/kb experts`, `/kb review` and `/kb verified`: who "Ask an expert" mentions in a channel, the
review queue, and the verified answers (list, edit, retire). Admins only; `review` also for the
channel's named experts. A reply is text, or a message with buttons (bot/slack/review_blocks.py)."""

from __future__ import annotations

import re
from typing import Any

from bot.deps import Deps
from bot.slack.review_blocks import review_queue, verified_list

ACTIONS = ("experts", "review", "verified")
MENTION = re.compile(r"<(@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)(?:\|[^>]*)?>")
"""A user or user group as Slack escapes it in a command's text."""


def handle(
    deps: Deps, action: str, args: list[str], user: str, channel: str
) -> str | dict[str, Any]:
    command = deps.settings.slack_command
    escalations = deps.escalations
    admin = user in deps.settings.slack_admin_users
    expert = f"<@{user}>" in escalations.experts_of(channel)
    if not admin and not (action == "review" and expert):
        return f"Only admins can run `{command} {action}`" + (
            " (and experts, `review`)." if action != "review" else "."
        )
    if action == "experts":
        mentions = " ".join(f"<{m}>" for m in MENTION.findall(" ".join(args)))
        if not args:
            current = escalations.experts_of(channel)
            return f"Experts here: {current or 'none'}. Set them with `{command} experts @group` (or @users)."
        if not mentions:
            return (
                f"Name a user group or users: `{command} experts @support-leads` (or `@ana @tom`)."
            )
        escalations.set_experts(channel, mentions)
        return f'"Ask an expert" in <#{channel}> now mentions {mentions}.'
    if action == "review":
        waiting, drafts = escalations.waiting()
        return review_queue(waiting, drafts)
    return verified_list(deps.verified.all(("approved",)), deps.verified.clock())
