"""The Slack edge (slack-bolt). Listeners only adapt: read the event, ask the agent, post.

Every failure inside a listener becomes a polite reply in the thread, never silence.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import answer_blocks
from bot.deps import Deps
from bot.errors import BotError
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

log = logging.getLogger(__name__)

EMPTY_KB = "The knowledge base is empty, so I cannot answer yet. An admin can fill it with `ingest`."
FAILED = "Sorry, something went wrong while answering. Please try again in a moment."


def build_web_client(token: str, api_url: str = "") -> WebClient:
    """The one place a Slack Web API client is built; SLACK_API_URL points it elsewhere."""
    return WebClient(token=token, base_url=api_url or WebClient.BASE_URL)


def create_app(deps: Deps, agent, client: WebClient | None = None) -> App:
    settings = deps.settings
    client = client or build_web_client(settings.slack_bot_token, settings.slack_api_url)
    app = App(client=client, signing_secret=settings.slack_signing_secret)

    @app.event("app_mention")
    def on_mention(event, say, logger):
        thread_ts = event.get("thread_ts") or event["ts"]
        reply = respond(agent, event.get("text", ""), thread_key(event["channel"], thread_ts), logger)
        say(thread_ts=thread_ts, **reply)

    @app.event("message")
    def on_message(event, context, say, logger):
        thread_ts = conversation_thread(event, context.get("bot_user_id"), deps.memory)
        if thread_ts is None:
            logger.debug("ignored message subtype=%s channel_type=%s", event.get("subtype"), event.get("channel_type"))
            return
        reply = respond(agent, event.get("text", ""), thread_key(event["channel"], thread_ts), logger)
        say(thread_ts=event.get("thread_ts"), **reply)

    return app


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
    if thread_ts and memory.recent(thread_key(event["channel"], thread_ts)):
        return thread_ts
    return None


def respond(agent, text: str, thread_id: str, logger: logging.Logger) -> dict:
    """The agent's answer as a chat.postMessage payload; errors become a polite reply."""
    try:
        answer = agent.answer(text, thread_id)
    except EmptyKnowledgeBase:
        return {"text": EMPTY_KB}
    except (BotError, KnowledgeError):
        logger.exception("answering failed")
        return {"text": FAILED}
    return {"text": answer.text, "blocks": answer_blocks(answer)}


def serve(deps: Deps, agent, http: bool = False, port: int = 3000) -> int:
    settings = deps.settings
    missing = [name for name, value in (("SLACK_BOT_TOKEN", settings.slack_bot_token),
                                        ("SLACK_SIGNING_SECRET", settings.slack_signing_secret)) if not value]
    if missing:
        raise BotError(f"Set {' and '.join(missing)} to serve Slack (see the README's Slack setup).")
    try:
        app = create_app(deps, agent)
    except (BoltError, SlackApiError, OSError) as error:
        # bolt verifies the token with auth.test when the app is built.
        raise BotError(
            f"Slack did not accept SLACK_BOT_TOKEN at {settings.slack_api_url or WebClient.BASE_URL} ({error}). "
            "Check the token, the network, and SLACK_API_URL if you set it."
        ) from None
    if settings.slack_app_token and not http:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(app, settings.slack_app_token).start()
    else:
        app.start(port=port)
    return 0
