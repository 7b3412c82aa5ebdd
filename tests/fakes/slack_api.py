"""A Slack Web API on localhost that answers like Slack and records every call, streams
(chat.startStream / appendStream / stopStream) included when `streaming` is on."""

from __future__ import annotations

from typing import Any

from tests.fakes.http import RecordingServer

BOT_USER_ID = "UBOT"


class FakeSlack(RecordingServer):
    def __init__(self) -> None:
        super().__init__(self._reply)
        self._ts = 1000
        self.socket_url = ""
        """What apps.connections.open hands out: a Socket Mode server's address."""
        self.errors: dict[str, str] = {}
        """Methods that fail, with Slack's error code (`{"views.open": "expired_trigger_id"}`)."""
        self.usergroups: dict[str, list[str]] = {}
        """User group id -> its members, for usergroups.users.list."""
        self.streaming = False
        """Whether chat.startStream works; off, it answers as a workspace without streaming does."""
        self.threads: dict[str, list[dict[str, Any]]] = {}
        """Thread ts -> its messages (parent first), for conversations.replies."""

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def _reply(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = path.rsplit("/", 1)[-1]
        if method in self.errors:
            return 200, {"ok": False, "error": self.errors[method]}
        if method == "auth.test":
            return 200, {
                "ok": True,
                "user_id": BOT_USER_ID,
                "bot_id": "BBOT",
                "team_id": "T1",
                "user": "kb",
            }
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.socket_url} if self.socket_url else {
                "ok": False,
                "error": "no_socket",
            }
        if method == "usergroups.users.list":
            members = self.usergroups.get(body.get("usergroup", ""))
            return 200, {"ok": True, "users": members} if members is not None else {
                "ok": False,
                "error": "no_such_subteam",
            }
        if method == "chat.startStream":
            if not self.streaming:
                return 200, {"ok": False, "error": "unknown_method"}
            self._ts += 1
            return 200, {"ok": True, "channel": body.get("channel"), "ts": f"{self._ts}.000200"}
        if method in ("chat.appendStream", "chat.stopStream", "chat.update"):
            return 200, {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "chat.postEphemeral":
            self._ts += 1
            return 200, {"ok": True, "message_ts": f"{self._ts}.000300"}
        if method == "conversations.replies":
            thread = next(
                (
                    messages
                    for parent, messages in self.threads.items()
                    if any(m.get("ts") == body.get("ts") for m in messages)
                    or parent == body.get("ts")
                ),
                [],
            )
            return 200, {"ok": True, "messages": thread}
        if method == "chat.getPermalink":
            return 200, {
                "ok": True,
                "permalink": f"https://example.slack.com/archives/{body.get('channel')}/"
                f"p{str(body.get('message_ts', '')).replace('.', '')}",
            }
        if method == "chat.postMessage":
            self._ts += 1
            return 200, {
                "ok": True,
                "channel": body.get("channel"),
                "ts": f"{self._ts}.000100",
                "message": {"text": body.get("text", "")},
            }
        return 200, {"ok": True}
