"""The Slack listeners of the expert loop (bot/chain/escalations.py): "Ask an expert" under an
answer, an expert's reply in that thread, a 📚 reaction on a reply, the "Save as answer" message
shortcut, and the review buttons and modal of `/kb review` and `/kb verified`.

Whatever a user wrote stays in Slack until it is stored: when Redis is down the click or the
shortcut is answered "try again" and nothing is half-saved.
"""

from __future__ import annotations

import logging
import re

import redis
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chain.i18n import language_of, text
from bot.chain.verified import VerifiedError
from bot.deps import Deps
from bot.slack.blocks import ASK_EXPERT
from bot.slack.review_blocks import EDIT_MODAL, edit_modal, edited

log = logging.getLogger(__name__)

SAVE_AS_ANSWER = "save_as_answer"
"""The message shortcut's callback id (bot/slack/manifest.yaml)."""
CAPTURE_REACTION = "books"
MENTIONED_USER = re.compile(r"<@([UW][A-Z0-9]+)")
MENTIONED_GROUP = re.compile(r"<!subteam\^([A-Z0-9]+)")


def register_experts(app: App, deps: Deps) -> None:
    escalations, command = deps.escalations, deps.settings.slack_command

    @app.action(ASK_EXPERT)
    def on_ask_expert(ack, body, action, respond, client, logger):
        ack()
        user = body.get("user", {}).get("id", "")
        try:
            turn = deps.turns.get(action.get("value", ""))
            if turn is not None and ":" in turn.thread:
                channel, thread_ts = turn.thread.split(":", 1)
                question = turn.question
            else:  # the record expired or was lost: the question is the thread's first message
                channel, thread_ts = (
                    body.get("channel", {}).get("id", ""),
                    body.get("message", {}).get("thread_ts", ""),
                )
                first = thread_messages(client, channel, thread_ts)[:1] if thread_ts else []
                question = (
                    MENTIONED_USER.sub("", first[0].get("text", "")).lstrip("> ").strip()
                    if first
                    else ""
                )
            if not question:
                respond(
                    text="I cannot find the question any more; ask it again.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            escalation = escalations.open(
                question, channel, thread_ts, user, turn.id if turn else ""
            )
            waiting, experts = escalations.waiting(), escalations.experts_of(channel)
        except redis.RedisError:
            logger.exception("could not record an escalation")
            respond(
                text=text(language_of(body.get("message", {}).get("text", "")), "experts.retry"),
                response_type="ephemeral",
                replace_original=False,
            )
            return
        deps.telemetry.escalated(len(waiting[0]) + len(waiting[1]))
        language = language_of(escalation.question)
        message = text(
            language,
            "experts.asked",
            experts=experts,
            user=user,
            question=escalation.question,
        )
        if not experts:
            message += "\n" + text(language, "experts.no_experts", command=command)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message)

    def save(client: WebClient, channel: str, message: dict, logger: logging.Logger) -> str:
        """A reply in a thread as the draft answer to the thread's question; what to tell the user."""
        thread_ts, reply_ts = message.get("thread_ts"), message.get("ts", "")
        if not thread_ts or thread_ts == reply_ts:
            return text(language_of(message.get("text", "")), "experts.not_a_reply")
        escalation = escalations.for_thread(channel, thread_ts)
        if escalation is None:  # a thread nobody escalated: its first message is the question
            first = thread_messages(client, channel, thread_ts)[:1]
            question = first[0].get("text", "") if first else ""
            escalation = escalations.open(
                question, channel, thread_ts, first[0].get("user", "") if first else ""
            )
        escalations.capture(
            escalation,
            message.get("text", ""),
            message.get("user", ""),
            permalink(client, channel, reply_ts),
        )
        deps.telemetry.review_queue(sum(map(len, escalations.waiting())))
        return text(
            language_of(escalation.question),
            "experts.saved",
            command=command,
            user=message.get("user", ""),
        )

    @app.event("reaction_added")
    def on_reaction(event, client, logger):
        item = event.get("item", {})
        if event.get("reaction") != CAPTURE_REACTION or item.get("type") != "message":
            return
        channel, ts = item.get("channel", ""), item.get("ts", "")
        found = [m for m in thread_messages(client, channel, ts) if m.get("ts") == ts]
        if found and found[0].get("thread_ts") and not found[0].get("bot_id"):
            said = save(client, channel, found[0], logger)
            client.chat_postEphemeral(channel=channel, user=event.get("user", ""), text=said)

    @app.shortcut(SAVE_AS_ANSWER)
    def on_save_as_answer(ack, body, respond, client, logger):
        ack()
        try:
            said = save(
                client,
                body.get("channel", {}).get("id", ""),
                body.get("message", {}),
                logger,
            )
        except redis.RedisError:
            logger.exception("could not save a reply as an answer")
            said = text(language_of(body.get("message", {}).get("text", "")), "experts.retry")
        respond(text=said, response_type="ephemeral")

    @app.action("review_approve")
    @app.action("review_reject")
    @app.action("verified_retire")
    def on_review(ack, body, action, respond, logger):
        ack()
        entry_id, kind = action.get("value", ""), action["action_id"]
        if body.get("user", {}).get("id", "") not in deps.settings.slack_admin_users:
            respond(
                text="Only admins approve, reject or retire answers.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        try:
            entry = (
                deps.verified.approve(entry_id)
                if kind == "review_approve"
                else deps.verified.retire(entry_id)
            )
            escalations.settle(entry)
            deps.telemetry.review_queue(sum(map(len, escalations.waiting())))
        except (redis.RedisError, VerifiedError) as error:
            logger.warning("review action %s on %s failed: %s", kind, entry_id, error)
            respond(
                text=f"{text('en', 'experts.retry')} ({error})",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        done = {
            "review_approve": "Approved: served from the next question on",
            "review_reject": "Rejected",
            "verified_retire": "Retired: no longer served",
        }[kind]
        respond(
            text=f"{done}: _{entry.question}_",
            response_type="ephemeral",
            replace_original=False,
        )

    @app.action("review_edit")
    def on_edit(ack, body, action, client, logger):
        ack()
        entry = deps.verified.get(action.get("value", ""))
        if (
            entry is not None
            and body.get("user", {}).get("id", "") in deps.settings.slack_admin_users
        ):
            client.views_open(trigger_id=body.get("trigger_id", ""), view=edit_modal(entry))

    @app.view(EDIT_MODAL)
    def on_edit_submit(ack, body, view, logger):
        if body.get("user", {}).get("id", "") not in deps.settings.slack_admin_users:
            return ack(
                response_action="errors",
                errors={"answer": "Only admins approve answers."},
            )
        try:
            entry = deps.verified.get(view.get("private_metadata", ""))
            if entry is None:
                return ack(
                    response_action="errors",
                    errors={"answer": "This answer was deleted meanwhile."},
                )
            approved = deps.verified.approve(entry.id, **edited(view))
            escalations.settle(approved)
            deps.telemetry.review_queue(sum(map(len, escalations.waiting())))
        except VerifiedError as error:
            return ack(response_action="errors", errors={"audience": str(error)})
        except redis.RedisError:
            logger.exception("could not save an edited answer")
            return ack(response_action="errors", errors={"answer": text("en", "experts.retry")})
        return ack()


def captured(deps: Deps, event: dict, client: WebClient) -> bool:
    """An expert's reply in a thread escalated to experts becomes a draft answer (and is not
    answered by the bot as a follow-up). Experts are the channel's mentioned users and the
    members of its mentioned user groups."""
    thread_ts, user = event.get("thread_ts"), event.get("user", "")
    if (
        not thread_ts
        or event.get("subtype")
        or event.get("bot_id")
        or not user
        or deps.escalations is None
    ):
        return False
    try:
        escalation = deps.escalations.for_thread(event.get("channel", ""), thread_ts)
    except (
        redis.RedisError
    ):  # the reply stays in the thread: a 📚 or "Save as answer" can capture it later
        log.warning("could not look up an escalation for %s", thread_ts)
        return False
    if escalation is None or escalation.state != "open" or user == escalation.asked_by:
        return False
    if not is_expert(deps, user, deps.escalations.experts_of(escalation.channel)):
        return False
    deps.escalations.capture(
        escalation,
        event.get("text", ""),
        user,
        permalink(client, escalation.channel, event.get("ts", "")),
    )
    deps.telemetry.review_queue(sum(map(len, deps.escalations.waiting())))
    client.chat_postMessage(
        channel=escalation.channel,
        thread_ts=thread_ts,
        text=text(
            language_of(escalation.question),
            "experts.saved",
            command=deps.settings.slack_command,
            user=user,
        ),
    )
    return True


def is_expert(deps: Deps, user: str, experts: str) -> bool:
    """Whether `user` is among `experts` (mentions of users and user groups). With no experts
    named, anyone but the asker may answer. A group Slack cannot list counts no one: the reply
    stays in the thread, where a 📚 or "Save as answer" can still capture it."""
    users, groups = set(MENTIONED_USER.findall(experts)), MENTIONED_GROUP.findall(experts)
    if not users and not groups:
        return True
    if user in users:
        return True
    resolver = deps.access.usergroups
    try:
        return resolver is not None and any(user in resolver.members(g) for g in groups)
    except redis.RedisError:
        log.warning("could not read the members of %s", ", ".join(groups))
        return False


def thread_messages(client: WebClient, channel: str, ts: str) -> list[dict]:
    try:
        return client.conversations_replies(channel=channel, ts=ts, inclusive=True, limit=200).get(
            "messages", []
        )
    except SlackApiError as error:
        log.warning(
            "could not read the thread %s:%s: %s",
            channel,
            ts,
            error.response.get("error"),
        )
        return []


def permalink(client: WebClient, channel: str, ts: str) -> str:
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink", "")
    except SlackApiError:
        return ""
