"""Reading a Slack message event: its delivery id and thread, who asks, and whether the bot
answers it (a mention, a DM, a follow-up in a bot thread, a plain question its channel wants
answered) and whether the asker is one its channel lets ask."""

from __future__ import annotations

import logging

from bot.chain.degrade import Reads, without_redis
from bot.deps import Deps
from bot.slack.channel_policy import ChannelPolicies, ChannelPolicy
from bot.slack.question_filter import is_question
from knowledge.access import Asker

log = logging.getLogger(__name__)

MALFORMED = (ValueError, AttributeError, TypeError, KeyError, IndexError)
"""What reading a payload of the wrong shape raises (bolt trusts the shape as it parses)."""


def event_id(body: dict) -> str:
    """Slack's id of the delivery; messages without one are keyed by channel and timestamp."""
    event = body.get("event", {})
    return body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"


def thread_key(channel: str, thread_ts: str) -> str:
    """The memory key of a Slack conversation; every listener must agree on it."""
    return f"{channel}:{thread_ts}"


def conversation_thread(event: dict, bot_user_id: str | None, memory) -> str | None:
    """The thread a plain message continues, or None when it is not for us.

    DMs are always for us, each answered in its thread (the agent view's conversations). In channels,
    a reply in a thread the bot has answered in is a follow-up that needs no new mention;
    a message that mentions the bot is left to the app_mention listener, so that it is
    answered once. Edits, deletions, file shares and bots (ourselves included) are ignored.
    """
    if (
        event.get("subtype")
        or event.get("bot_id")
        or not event.get("user")
        or event.get("user") == bot_user_id
    ):
        return None
    if bot_user_id and f"<@{bot_user_id}>" in event.get("text", ""):
        return None
    if event.get("channel_type") == "im":
        return event.get("thread_ts") or event.get(
            "ts"
        )  # the agent view: each new message opens a thread
    thread_ts = event.get("thread_ts")
    # Without Redis a reply in a thread cannot be told from chatter: only mentions are answered.
    if thread_ts and without_redis(
        "memory", lambda: memory.recent(thread_key(event["channel"], thread_ts)), []
    ):
        return thread_ts
    return None


def asker_of(event: dict) -> Asker:
    """Who asks: in a channel, the user there; in a DM or the Assistant view (DM channels, ids
    starting with D), the user alone."""
    channel = event["channel"]
    direct = event.get("channel_type") == "im" or channel.startswith("D")
    return Asker(user=event.get("user", ""), channel=channel, direct=direct)


def plain_question(event: dict, bot_user_id: str | None, policies: ChannelPolicies) -> bool:
    """A channel message nobody addressed to the bot that its channel wants answered: a question
    (bot/slack/question_filter.py) in a channel in `questions` mode."""
    if (
        event.get("subtype")
        or event.get("bot_id")
        or not event.get("user")
        or event.get("user") == bot_user_id
    ):
        return False
    if event.get("channel_type") not in ("channel", "group"):
        return False
    if bot_user_id and f"<@{bot_user_id}>" in event.get("text", ""):
        return False
    return policies.policy_of(event["channel"]).mode == "questions" and is_question(
        event.get("text", "")
    )


def may_ask(deps: Deps, policy: ChannelPolicy, user: str) -> bool:
    """Whether `user` is in one of the channel's asking user groups (none set: everyone)."""
    if not policy.askers:
        return True
    groups = deps.access.usergroups
    if groups is None:  # no way to tell who is in a group: closed, as for restricted documents
        log.warning("a channel limits who may ask to user groups, but groups cannot be resolved")
        return False
    reads = Reads(deps.redis)
    members_of = groups.read_groups_of(user, list(policy.askers), reads)
    reads.send()
    return bool(members_of())
