"""Answers visible only to the asker (a channel's policy), with a "Share with the channel" button.

The message is kept in Redis for SHARE_TTL_S under a random key the button carries: an
ephemeral message is not in the payload of a click on it, and the asker may share it once. An
answer citing a restricted source gets no button: the channel's members may not see that source.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import redis
from slack_bolt import App
from slack_sdk import WebClient

from bot.chain import i18n
from bot.chain.answer import Answer
from bot.chain.progress import Step
from bot.deps import Deps
from bot.slack.replies import rendered

SHARE_ACTION = "share_answer"
SHARE_TTL_S = 24 * 3600
"""A day to decide; the key then expires by itself."""


def share_key(prefix: str, share_id: str) -> str:
    return f"{prefix}share:{share_id}"


class EphemeralReply:
    """chat.postEphemeral to the asker, in the question's thread. No stream: Slack does not
    stream an ephemeral message."""

    def __init__(
        self,
        client: WebClient,
        deps: Deps,
        channel: str,
        user: str,
        thread_ts: str | None,
        logger: logging.Logger,
    ) -> None:
        self._client = client
        self._deps = deps
        self._where = {
            "channel": channel,
            "user": user,
            **({"thread_ts": thread_ts} if thread_ts else {}),
        }
        self._logger = logger

    def step(self, step: Step) -> None:
        pass

    def deliver(self, answer: Answer) -> None:
        message = rendered(answer, self._logger)
        blocks = list(message.get("blocks", []))
        if not answer.restricted and blocks:
            share_id = self._kept(message)
            if share_id:
                blocks.append(share_button(share_id, answer.language))
        self._client.chat_postEphemeral(**self._where, text=message["text"], blocks=blocks or None)

    def say(self, text: str) -> None:
        self._client.chat_postEphemeral(**self._where, text=text)

    def _kept(self, message: dict[str, Any]) -> str:
        """The id the message is kept under for sharing; "" without Redis (no button then)."""
        share_id = uuid.uuid4().hex
        kept = {**message, **self._where}
        try:
            self._deps.redis.set(
                share_key(self._deps.settings.redis_prefix, share_id),
                json.dumps(kept),
                ex=SHARE_TTL_S,
            )
        except redis.RedisError as error:
            self._logger.warning("no share button: Redis unavailable (%s)", error)
            return ""
        return share_id


def share_button(share_id: str, language: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"share:{share_id}",
        "elements": [
            {
                "type": "button",
                "action_id": SHARE_ACTION,
                "value": share_id,
                "text": {
                    "type": "plain_text",
                    "text": i18n.text(language, "slack.share"),
                },
            }
        ],
    }


def register_sharing(app: App, deps: Deps) -> None:
    @app.action(SHARE_ACTION)
    def on_share(ack, body, action, client, respond, logger):
        """The asker posts the answer in the thread for everyone; the ephemeral copy goes."""
        ack()
        user = body.get("user", {}).get("id", "")
        key = share_key(deps.settings.redis_prefix, action.get("value", ""))
        raw = deps.redis.getdel(key)
        if raw is None:
            return respond(
                text=i18n.text("en", "slack.share_expired"),
                response_type="ephemeral",
                replace_original=False,
            )
        kept = json.loads(raw)
        language = i18n.language_of(kept.get("text", ""))
        if kept["user"] != user:
            deps.redis.set(key, raw, ex=SHARE_TTL_S)  # not theirs to share: it stays the asker's
            return respond(
                text=i18n.text(language, "slack.not_for_you", user=kept["user"]),
                response_type="ephemeral",
                replace_original=False,
            )
        shared = {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": i18n.text(language, "slack.shared_by", user=user),
                }
            ],
        }
        client.chat_postMessage(
            channel=kept["channel"],
            thread_ts=kept.get("thread_ts"),
            text=kept["text"],
            blocks=[*kept.get("blocks", []), shared],
        )
        respond(delete_original=True)
