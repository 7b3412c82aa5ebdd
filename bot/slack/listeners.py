"""The Slack edge (slack-bolt). Listeners only adapt: read the event, ask the agent, post.

Every failure inside a listener becomes a polite reply in the thread, never silence.
Every event is answered at most once (Slack redelivers; see bot/chain/gate.py).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

from slack_bolt import App, Assistant
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.chain import i18n
from bot.chain.answer import Answer
from bot.chain.degrade import without_redis
from bot.deps import Deps, build_web_client
from bot.service import Failure, ask
from bot.slack.blocks import answer_blocks
from bot.slack.feedback_buttons import register_feedback
from bot.slack.slash_commands import Commands, Reindexer
from bot.slack.suggestions import Suggestions
from bot.web.admission import Admission, CallerRunsExecutor
from knowledge.access import Asker
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

def create_app(deps: Deps, agent, client: WebClient | None = None, process_before_response: bool = False,
               admission: Admission | None = None) -> App:
    """`process_before_response` answers before Slack's request is acknowledged (for hosts that
    stop working after the response, and for tests): a reply that could not be posted then
    becomes an error response, and Slack retries the event. `admission` is shared with the HTTP
    API when both are served (one process, one limit on questions answered at once)."""
    settings = deps.settings
    client = client or build_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    admission = admission or Admission.for_settings(settings)
    # Enough listener threads for every admitted question plus a few to say "busy"; beyond them a
    # listener runs in the request's thread (no queue), where admission turns it away at once.
    executor = CallerRunsExecutor(admission.capacity + 4, thread_name_prefix="kb-answer")
    app = App(client=client, signing_secret=settings.slack_signing_secret.get_secret_value(), listener_executor=executor,
              process_before_response=process_before_response or settings.slack_process_before_response)
    app.admission = admission  # so the load benchmark and operators can see it
    commands = Commands(deps, Reindexer(deps))
    app.reindexer = commands.reindexer  # so tests and operators can wait for a running reindex

    def answer(body: dict, event: dict, say, thread_ts: str, reply_ts: str | None, logger) -> None:
        """The one path from a user's message to a posted answer."""
        claim = event_id(body)
        if not deps.gate.first_delivery(claim):
            logger.info("ignored redelivered event %s", claim)
            return
        user = event.get("user", "")
        language = i18n.language_of(event.get("text", ""))
        try:
            if not deps.gate.allow(user):
                say(thread_ts=reply_ts, text=i18n.text(language, "slack.slow_down"))
                return
            with admission.slot() as admitted:
                if admitted:
                    respond(agent, event.get("text", ""), asker_of(event), thread_ts, logger,
                            lambda message: say(thread_ts=reply_ts, **message))
                else:
                    say(thread_ts=reply_ts, text=i18n.text(language, "slack.busy"))
        except Exception:
            # Nothing was posted (only posting raises in respond()): Slack's retry may try again.
            deps.gate.release(claim)
            raise

    @app.event("app_mention")
    def on_mention(body, event, say, logger):
        thread_ts = event.get("thread_ts") or event["ts"]
        answer(body, event, say, thread_ts, thread_ts, logger)

    @app.event("message")
    def on_message(body, event, context, say, logger):
        thread_ts = conversation_thread(event, context.get("bot_user_id"), deps.memory)
        if thread_ts is None:
            logger.debug("ignored message subtype=%s channel_type=%s", event.get("subtype"), event.get("channel_type"))
            return
        answer(body, event, say, thread_ts, event.get("thread_ts"), logger)

    assistant = Assistant()
    suggestions = Suggestions(settings.slack_suggested_prompts, deps.store)

    @assistant.thread_started
    def on_assistant_start(say, set_suggested_prompts, logger):
        say(i18n.text("en", "slack.greeting"))  # nothing asked yet to tell the language by
        try:
            prompts = suggestions.prompts()
            if prompts:
                set_suggested_prompts(prompts=prompts)
        except (SlackApiError, KnowledgeError) as error:
            logger.warning("could not set suggested prompts: %s", error)

    @assistant.user_message
    def on_assistant_message(body, event, say, set_status, set_title, logger):
        if event.get("user") == body.get("authorizations", [{}])[0].get("user_id"):
            return
        try:
            set_title(event.get("text", "")[:80] or "Question")
            set_status(i18n.text(i18n.language_of(event.get("text", "")), "slack.searching"))
        except SlackApiError as error:  # a plain DM thread is not an Assistant thread
            logger.debug("no assistant status: %s", error)
        answer(body, event, say, event["thread_ts"], event["thread_ts"], logger)

    app.use(assistant)

    register_feedback(app, deps)

    @app.command(settings.slack_command)
    def on_command(ack, command, respond):
        ack()

        def notify(text: str) -> None:
            try:
                respond(text=text, response_type="ephemeral")
            except Exception:  # a progress note that cannot be delivered must not stop the reindex
                log.exception("could not deliver: %s", text)

        try:
            reply = commands.handle(command.get("text", ""), command.get("user_id", ""), notify,
                                    command.get("channel_id", ""))
        except Exception:  # an admin is told too, with the id the log has
            error_id = uuid.uuid4().hex[:8]
            log.exception("command %r failed (error id %s)", command.get("text", ""), error_id)
            reply = i18n.text(i18n.language_of(command.get("text", "")), "slack.failed", error_id=error_id)
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
            response.body = json.dumps({"error": f"malformed Slack payload ({type(error).__name__}: {error})"})

    return app


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

    DMs are always for us (a DM outside a thread is one running conversation). In channels,
    a reply in a thread the bot has answered in is a follow-up that needs no new mention;
    a message that mentions the bot is left to the app_mention listener, so that it is
    answered once. Edits, deletions, file shares and bots (ourselves included) are ignored.
    """
    if event.get("subtype") or event.get("bot_id") or not event.get("user") or event.get("user") == bot_user_id:
        return None
    if bot_user_id and f"<@{bot_user_id}>" in event.get("text", ""):
        return None
    if event.get("channel_type") == "im":
        return event.get("thread_ts") or "dm"
    thread_ts = event.get("thread_ts")
    # Without Redis a reply in a thread cannot be told from chatter: only mentions are answered.
    if thread_ts and without_redis("memory", lambda: memory.recent(thread_key(event["channel"], thread_ts)), []):
        return thread_ts
    return None


def asker_of(event: dict) -> Asker:
    """Who asks: in a channel, the user there; in a DM or the Assistant view (DM channels, ids
    starting with D), the user alone."""
    channel = event["channel"]
    direct = event.get("channel_type") == "im" or channel.startswith("D")
    return Asker(user=event.get("user", ""), channel=channel, direct=direct)


def respond(agent, text: str, asker: Asker, thread_ts: str, logger: logging.Logger,
            post: Callable[[dict], object]) -> None:
    """Post the agent's answer (a chat.postMessage payload) before the turn is written to Redis;
    a failure becomes a polite reply in the language of the question."""
    def reply(answer: Answer) -> None:
        # Rendering is not posting: a bug in it must not leave the asker with no reply at all.
        try:
            message = {"text": answer.text, "blocks": answer_blocks(answer)}
        except Exception:
            logger.exception("could not render the answer's blocks; posting its text alone")
            message = {"text": answer.text}
        post(message)

    answer = ask(agent, text, thread_key(asker.channel, thread_ts), asker, logger, reply=reply)
    if isinstance(answer, Failure):
        post({"text": answer.message})


def slack_wsgi(app: App):
    """Slack's events, commands and actions as a WSGI app (bot/web/app.py mounts it at /slack/events)."""
    slack = SlackRequestHandler(app)

    def reply(start_response, body: dict) -> list[bytes]:
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def application(environ, start_response):
        try:
            return slack(environ, start_response)
        except UnicodeDecodeError:
            return reply(start_response, {"error": "the request body is not UTF-8 text"})
        except MALFORMED as error:
            # bolt parses the body before it checks the signature, and trusts its shape while it
            # does ("authorizations" as a string raises AttributeError): any of these is a bad request.
            log.warning("malformed request body: %s: %s", type(error).__name__, error)
            what = "valid JSON or form data" if isinstance(error, ValueError) else "a Slack payload"
            return reply(start_response, {"error": f"the request body is not {what} ({type(error).__name__}: {error})"})

    return application
