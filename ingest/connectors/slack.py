"""Slack threads: in the chosen channels, each thread that has a reply becomes one document (the
question and its answers). A private channel's threads are for its members (`channel:C…`); a
public channel's for the source's audience, else everyone. The bot's own messages are left out,
so its answers never come back as knowledge. Incremental runs look back `thread_window` for
threads with replies newer than the last run's mark (Slack `ts`)."""

from __future__ import annotations

from typing import Any

import httpx

from ingest.connectors.base import ConnectorError, Pull, SourceAuthError
from ingest.connectors.http import SourceClient
from ingest.documents import SourceDocument

LIMIT = 200
AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
}
TOKEN_HINT = (
    "set SLACK_BOT_TOKEN to the app's bot token (xoxb-…, from the app's OAuth & Permissions page); "
    "reinstall the app if it was revoked"
)
SKIP_SUBTYPES = {
    "channel_join",
    "channel_leave",
    "bot_message",
    "channel_topic",
    "channel_purpose",
}


class SlackThreads:
    full_only = False

    def __init__(self, source, settings, *, transport: httpx.BaseTransport | None = None) -> None:
        token = settings.slack_sync_token.get_secret_value()
        if not token:
            raise SourceAuthError(f"source {source.name}: SLACK_BOT_TOKEN is not set; {TOKEN_HINT}")
        self.source = source
        self.api = settings.slack_sync_api_url.rstrip("/") + "/"
        client = httpx.Client(
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            transport=transport,
        )
        self.http = SourceClient(
            client, token_hint=TOKEN_HINT, describe=lambda r: f"HTTP {r.status_code}"
        )

    def pull(self, pull: Pull, full: bool) -> None:
        marks: dict[str, str] = pull.state.setdefault("latest", {})
        try:
            for channel in self.source.locations:
                mark = "" if full else marks.get(channel, "")
                newest = self._channel(channel, mark, pull)
                if newest:
                    marks[channel] = max(newest, marks.get(channel, "0"), key=float)
        finally:
            pull.requests = self.http.requests

    def _channel(self, channel: str, mark: str, pull: Pull) -> str:
        info = self._call("conversations.info", channel=channel)["channel"]
        audience = (f"channel:{channel}",) if info.get("is_private") else ()
        oldest = f"{max(0.0, float(mark) - self.source.thread_window):.6f}" if mark else "0"
        newest = mark
        for message in self._each(
            "conversations.history", "messages", channel=channel, oldest=oldest
        ):
            latest = message.get("latest_reply", "")
            if not message.get("reply_count") or message.get("subtype") in SKIP_SUBTYPES:
                continue
            newest = max(newest or latest, latest, key=float)
            if mark and float(latest) <= float(mark):
                pull.present.add(f"{channel}/{message['ts']}")  # unchanged since the last run
                continue
            replies = list(
                self._each(
                    "conversations.replies",
                    "messages",
                    channel=channel,
                    ts=message["ts"],
                )
            )
            document = thread_document(channel, info.get("name", channel), replies, audience)
            if document:
                pull.add(document)
        return newest

    def _each(self, method: str, key: str, **params: Any):
        cursor = ""
        while True:
            reply = self._call(
                method, limit=LIMIT, **params, **({"cursor": cursor} if cursor else {})
            )
            yield from reply.get(key, [])
            cursor = reply.get("response_metadata", {}).get("next_cursor", "")
            if not cursor:
                return

    def _call(self, method: str, **params: Any) -> dict:
        reply = self.http.json("GET", self.api + method, params=params)
        if reply.get("ok"):
            return reply
        error = reply.get("error", "unknown_error")
        if error in AUTH_ERRORS:
            raise SourceAuthError(f"Slack {method}: {error}; {TOKEN_HINT}")
        if error == "missing_scope":
            raise SourceAuthError(
                f"Slack {method}: missing_scope (needs {reply.get('needed', '?')}); add the scope "
                "on the app's OAuth & Permissions page and reinstall it"
            )
        if error == "not_in_channel":
            raise ConnectorError(
                f"Slack {method}: the bot is not in {params.get('channel')}; invite it (/invite @bot)"
            )
        if error == "channel_not_found":
            raise ConnectorError(
                f"Slack {method}: no channel {params.get('channel')} visible to the bot; "
                "check the id in sources.yaml and that the bot was invited"
            )
        raise ConnectorError(f"Slack {method}: {error}")


def thread_document(
    channel: str, name: str, messages: list[dict], audience: tuple[str, ...]
) -> SourceDocument | None:
    """A thread as one document: its first message as the question, the replies as answers."""
    said = [
        m
        for m in messages
        if m.get("text", "").strip()
        and not m.get("bot_id")
        and m.get("subtype") not in SKIP_SUBTYPES
    ]
    if len(said) < 2 or said[0]["ts"] != messages[0]["ts"]:
        return None
    question = said[0]["text"].strip()
    answers = [f"**<@{m.get('user', '?')}>:** {m['text'].strip()}" for m in said[1:]]
    ts = said[0]["ts"]
    return SourceDocument(
        doc_id=f"{channel}/{ts}",
        title=question.splitlines()[0][:100],
        kind="doc",
        format="markdown",
        source=f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}",
        text=f"**Question (<@{said[0].get('user', '?')}>):** {question}\n\n" + "\n\n".join(answers),
        audience=audience,
        metadata={"channel": channel, "channel_name": name, "replies": len(answers)},
    )
