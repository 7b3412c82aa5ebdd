"""Where a user talks to the bot alone: the agent view (the Messages tab of new apps: each
message a conversation in its thread, suggested prompts set when the tab opens) and the legacy
Assistant view (its own thread_started / user_message events), served side by side.

Both suggest questions from the FAQ (bot/slack/suggestions.py); both answer through the same
path as a mention (`answer`), with a status and loading messages while it works.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, Assistant
from slack_sdk.errors import SlackApiError

from bot.chain import i18n
from bot.slack.suggestions import Suggestions
from knowledge.errors import KnowledgeError

Answer = Callable[..., None]
"""answer(body, event, say, client, logger, set_status): reply in the event's thread."""


def register_agent_view(app: App, suggestions: Suggestions, answer: Answer) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event, client, logger):
        """The agent view's Messages tab: its prompts are set for the channel, not a thread
        (a thread_ts there makes Slack ignore the call)."""
        if event.get("tab") != "messages":
            return
        try:
            prompts = suggestions.prompts()
            if prompts:
                client.assistant_threads_setSuggestedPrompts(
                    channel_id=event["channel"], prompts=prompts
                )
        except (SlackApiError, KnowledgeError) as error:
            logger.warning("could not set suggested prompts: %s", error)

    assistant = Assistant()

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
    def on_assistant_message(body, event, say, client, set_title, set_status, logger):
        if event.get("user") == body.get("authorizations", [{}])[0].get("user_id"):
            return
        try:
            set_title(event.get("text", "")[:80] or "Question")
        except SlackApiError as error:  # a plain DM thread is not an Assistant thread
            logger.debug("no assistant title: %s", error)
        answer(body, event, say, client, logger, set_status)

    app.use(assistant)
