"""Slack's conversation reading methods on localhost, shaped as the Web API reference documents:
conversations.info / history / replies with `response_metadata.next_cursor`, `{"ok": false,
"error": ...}` bodies for bad tokens and channels, and HTTP 429 with Retry-After."""

from __future__ import annotations

from tests.fakes.json_api import JsonApi, Reply, Request

MAX_LIMIT = 2
"""Slack pages by `limit`; a small cap here makes every list paginate."""


class FakeSlackHistory(JsonApi):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.channels: dict[str, dict] = {}
        """channel id -> {"name", "is_private", "messages": [message, ...]} (replies carry thread_ts)."""

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def route(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        method = request.path.removeprefix("/api/")
        params = request.query
        channel = self.channels.get(params.get("channel", ""))
        if channel is None:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        if method == "conversations.info":
            return Reply(
                200,
                {
                    "ok": True,
                    "channel": {
                        "id": params["channel"],
                        "name": channel["name"],
                        "is_private": channel["is_private"],
                    },
                },
            )
        if method == "conversations.history":
            parents = [
                self.summary(channel, m)
                for m in channel["messages"]
                if m.get("thread_ts", m["ts"]) == m["ts"]
                and float(m["ts"]) >= float(params.get("oldest", 0))
            ]
            return self.page(params, sorted(parents, key=lambda m: float(m["ts"]), reverse=True))
        if method == "conversations.replies":
            thread = [m for m in channel["messages"] if m.get("thread_ts", m["ts"]) == params["ts"]]
            return self.page(params, sorted(thread, key=lambda m: float(m["ts"])))
        return Reply(200, {"ok": False, "error": "unknown_method"})

    def summary(self, channel: dict, parent: dict) -> dict:
        replies = [
            m
            for m in channel["messages"]
            if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
        ]
        found = {"type": "message", **parent}
        if replies:
            found.update(
                thread_ts=parent["ts"],
                reply_count=len(replies),
                latest_reply=max(m["ts"] for m in replies),
            )
        return found

    def page(self, params: dict, items: list[dict]) -> Reply:
        start = int(params.get("cursor") or 0)
        size = min(int(params.get("limit") or 100), MAX_LIMIT)
        more = start + size < len(items)
        return Reply(
            200,
            {
                "ok": True,
                "messages": items[start : start + size],
                "has_more": more,
                "response_metadata": {"next_cursor": str(start + size) if more else ""},
            },
        )
