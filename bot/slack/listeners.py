"""The Slack edge (slack-bolt). Listeners only adapt: read the event, ask the agent, reply
(streamed, one message or ephemeral: bot/slack/replies.py, as the channel's policy says).

Every failure inside a listener becomes a polite reply in the thread, never silence, except
for a plain question nobody addressed to the bot (a channel's `questions` mode).
Every event is answered at most once (Slack redelivers; see bot/chain/gate.py).
"""

from __future__ import annotations

import json
import logging
import uuid

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chain import i18n, progress
from bot.deps import Deps, build_web_client
from bot.service import Failure, ask
from bot.slack.agent_view import register_agent_view
from bot.slack.channel_policy import ChannelPolicies, ChannelPolicy
from bot.slack.events import (
    MALFORMED,
    asker_of,
    conversation_thread,
    event_id,
    may_ask,
    plain_question,
    thread_key,
)
from bot.slack.experts import captured, register_experts
from bot.slack.feedback_buttons import register_feedback
from bot.slack.reindexer import Reindexer
from bot.slack.replies import CitedOnly, Reply, StreamedReply
from bot.slack.sharing import EphemeralReply, register_sharing
from bot.slack.slash_commands import Commands
from bot.slack.suggestions import Suggestions
from bot.web.admission import Admission, CallerRunsExecutor
from knowledge.access import Asker

log = logging.getLogger(__name__)


def create_app(
    deps: Deps,
    agent,
    client: WebClient | None = None,
    process_before_response: bool = False,
    admission: Admission | None = None,
) -> App:
    """`process_before_response` answers before Slack's request is acknowledged (for hosts that
    stop working after the response, and for tests): a reply that could not be posted then
    becomes an error response, and Slack retries the event. `admission` is shared with the HTTP
    API when both are served (one process, one limit on questions answered at once)."""
    settings = deps.settings
    client = client or build_web_client(
        settings.slack_bot_token.get_secret_value(), settings.slack_api_url
    )
    admission = admission or Admission.for_settings(settings)
    # Enough listener threads for every admitted question plus a few to say "busy"; beyond them a
    # listener runs in the request's thread (no queue), where admission turns it away at once.
    executor = CallerRunsExecutor(admission.capacity + 4, thread_name_prefix="kb-answer")
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        listener_executor=executor,
        process_before_response=process_before_response or settings.slack_process_before_response,
    )
    app.admission = admission  # so the load benchmark and operators can see it
    policies = ChannelPolicies(deps.redis, settings.redis_prefix)
    commands = Commands(deps, Reindexer(deps), policies)  # `/kb channel` writes what listeners read
    app.reindexer = commands.reindexer  # so tests and operators can wait for a running reindex

    def answer(
        body: dict,
        event: dict,
        say,
        client: WebClient,
        thread_ts: str,
        reply_ts: str,
        logger,
        addressed: bool = True,
        set_status=None,
    ) -> None:
        """The one path from a user's message to its reply. `addressed`: a mention, a DM or a
        follow-up in a bot thread (always replied to); else a plain question in a channel that
        asked for those (replied to only with a cited answer, else silence)."""
        claim = event_id(body)
        if not deps.gate.first_delivery(claim):
            logger.info("ignored redelivered event %s", claim)
            return
        user, text = event.get("user", ""), event.get("text", "")
        language = i18n.language_of(text)
        asker = asker_of(event)
        policy = ChannelPolicy() if asker.direct else policies.policy_of(asker.channel)

        def post(message: dict) -> None:
            say(thread_ts=reply_ts, **message)

        try:
            refusal = (
                "slack.not_allowed"
                if not may_ask(deps, policy, user)
                else ("slack.slow_down" if not deps.gate.allow(user) else "")
            )
            if refusal:
                if addressed:
                    post({"text": i18n.text(language, refusal)})
                return
            with admission.slot() as admitted:
                if not admitted:
                    if addressed:
                        post({"text": i18n.text(language, "slack.busy")})
                    return
                reply = reply_for(
                    client, deps, policy, event, body, reply_ts, language, post, addressed, logger
                )
                if addressed and not policy.ephemeral:
                    show_status(set_status, language, logger)
                respond(
                    agent, text, asker, thread_ts, reply, logger, variant=policy.variant or None
                )
        except Exception:
            # Nothing was posted (only posting raises in respond()): Slack's retry may try again.
            deps.gate.release(claim)
            raise

    @app.event("app_mention")
    def on_mention(body, event, say, client, logger, set_status=None):
        thread_ts = event.get("thread_ts") or event["ts"]
        answer(body, event, say, client, thread_ts, thread_ts, logger, set_status=set_status)

    @app.event("message")
    def on_message(body, event, context, say, client, logger, set_status=None):
        if captured(
            deps, event, client
        ):  # an expert's reply to an escalated question: a draft, not a question
            return
        bot_user_id = context.get("bot_user_id")
        thread_ts = conversation_thread(event, bot_user_id, deps.memory)
        if thread_ts is not None:
            answer(body, event, say, client, thread_ts, thread_ts, logger, set_status=set_status)
        elif plain_question(event, bot_user_id, policies):
            thread_ts = event.get("thread_ts") or event["ts"]
            answer(body, event, say, client, thread_ts, thread_ts, logger, addressed=False)
        else:
            logger.debug(
                "ignored message subtype=%s channel_type=%s",
                event.get("subtype"),
                event.get("channel_type"),
            )

    def answer_in_assistant_thread(body, event, say, client, logger, set_status) -> None:
        answer(
            body,
            event,
            say,
            client,
            event["thread_ts"],
            event["thread_ts"],
            logger,
            set_status=set_status,
        )

    register_agent_view(
        app, Suggestions(settings.slack_suggested_prompts, deps.store), answer_in_assistant_thread
    )

    register_feedback(app, deps)
    register_sharing(app, deps)
    register_experts(app, deps)

    @app.command(settings.slack_command)
    def on_command(ack, command, respond):
        ack()

        def notify(text: str) -> None:
            try:
                respond(text=text, response_type="ephemeral")
            except Exception:  # a progress note that cannot be delivered must not stop the reindex
                log.exception("could not deliver: %s", text)

        try:
            reply = commands.handle(
                command.get("text", ""),
                command.get("user_id", ""),
                notify,
                command.get("channel_id", ""),
            )
        except Exception:  # an admin is told too, with the id the log has
            error_id = uuid.uuid4().hex[:8]
            log.exception("command %r failed (error id %s)", command.get("text", ""), error_id)
            reply = i18n.text(
                i18n.language_of(command.get("text", "")), "slack.failed", error_id=error_id
            )
        if isinstance(
            reply, dict
        ):  # a message with buttons (the review queue, the verified answers)
            respond(**reply, response_type="ephemeral")
        else:
            notify(reply)

    @app.error
    def on_error(error, body, response, logger):
        # Our listeners answer their own failures, so what reaches here is a payload bolt or a
        # listener could not read (a field missing or of the wrong type): a bad request, which
        # Slack must not retry. A reply that could not be posted stays a 500, so Slack retries it.
        kind = body.get("type") if isinstance(body, dict) else None
        logger.warning("unhandled %s for a %s payload: %s", type(error).__name__, kind, error)
        if response is not None and isinstance(error, MALFORMED):
            response.status = 400
            response.headers = {"content-type": ["application/json"]}
            response.body = json.dumps(
                {"error": f"malformed Slack payload ({type(error).__name__}: {error})"}
            )

    return app


def reply_for(
    client: WebClient,
    deps: Deps,
    policy: ChannelPolicy,
    event: dict,
    body: dict,
    thread_ts: str,
    language: str,
    post,
    addressed: bool,
    logger: logging.Logger,
) -> Reply:
    """Ephemeral where the channel says so; else streamed. Unaddressed: only a cited answer."""
    user, channel = event.get("user", ""), event["channel"]
    if policy.ephemeral and not asker_of(event).direct:
        reply: Reply = EphemeralReply(client, deps, channel, user, thread_ts, logger)
    else:
        team = event.get("team") or body.get("team_id", "")
        reply = StreamedReply(client, channel, thread_ts, user, team, language, post, logger)
    return reply if addressed or not policy.cited else CitedOnly(reply, logger)


def show_status(set_status, language: str, logger: logging.Logger) -> None:
    """A status under the question, with loading messages in its language, until the reply."""
    if set_status is None:
        return
    try:
        set_status(
            status=i18n.text(language, "slack.searching"),
            loading_messages=i18n.texts(language, "slack.loading"),
        )
    except SlackApiError as error:  # not an assistant or agent thread: the streamed steps say it
        logger.debug("no status: %s", error.response.get("error"))


def respond(
    agent,
    text: str,
    asker: Asker,
    thread_ts: str,
    reply: Reply,
    logger: logging.Logger,
    variant: str | None = None,
) -> None:
    """Ask the agent, telling `reply` its steps; the answer is delivered before the turn is
    written to Redis, and a failure becomes a polite reply in the language of the question."""
    with progress.reporting(reply.step):
        answer = ask(
            agent,
            text,
            thread_key(asker.channel, thread_ts),
            asker,
            logger,
            variant=variant,
            reply=reply.deliver,
        )
    if isinstance(answer, Failure):
        reply.say(answer.message)
