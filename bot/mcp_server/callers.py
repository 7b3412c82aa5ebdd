"""Who an MCP call asks as. Over HTTP, the API key its request carries (bot/web/api_keys.py: the
same keys, users, channels and rate limits as the HTTP API); over stdio, the person who started
`bot mcp`, with the `--user` and `--channel` they gave.

A key bound to no user asks as nobody in particular (`everyone` documents only): unlike
`POST /v1/ask`, an agent cannot name someone to ask as."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.web.api_keys import ApiKeys
from knowledge.access import Asker


class NotAllowed(Exception):
    """A call without a known key (the HTTP gate refuses these before any tool runs)."""


@dataclass(frozen=True)
class McpCaller:
    asker: Asker
    name: str
    """The key's name, or `local` over stdio: keeps each caller's threads apart."""
    rate_key: str
    """Whose requests a minute are counted (the gate's key); "" for none."""
    per_minute: int | None = None
    """Their limit; None: the gate's default for `rate_key`."""

    def thread(self, name: str) -> str:
        """Threads are kept per caller: another key, a Slack thread or the HTTP API never reads this one."""
        return f"mcp:{self.name}:{name}"


Identify = Callable[[Mapping[str, str] | None], McpCaller]
"""A request's headers (None over stdio) -> who asks."""


def local_caller(user: str = "", channel: str = "", everything: bool = False) -> Identify:
    """`bot mcp --user U --channel C`: one person's own assistant, counted against their Slack rate."""
    caller = McpCaller(Asker(user=user, channel=channel, everything=everything), "local", user)
    return lambda headers: caller


def key_caller(keys: ApiKeys, api_per_minute: int) -> Identify:
    def identify(headers: Mapping[str, str] | None) -> McpCaller:
        key = keys.find(bearer(headers or {}))
        if key is None:
            raise NotAllowed("That API key is not known (revoked, or mistyped).")
        per_minute = api_per_minute if key.per_minute is None else key.per_minute
        return McpCaller(
            Asker(user=key.user, channel=key.channel),
            key.name,
            f"apikey:{key.name}",
            per_minute,
        )

    return identify


def bearer(headers: Mapping[str, str]) -> str:
    """The key of an `Authorization: Bearer KEY` header; "" without one."""
    scheme, _, secret = (
        headers.get("authorization") or headers.get("Authorization") or ""
    ).partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""
