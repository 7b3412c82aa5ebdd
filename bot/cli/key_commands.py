"""`bot keys add|list|revoke`: the HTTP API's keys (bot/web/api_keys.py). Reads and writes Redis only:
no model is loaded to manage a key (its imports are inside the functions, as bot/cli/commands.py
explains)."""

from __future__ import annotations

import json
import time

import click

from bot.cli.ops_commands import fail
from bot.errors import BotError
from knowledge.errors import KnowledgeError


@click.group(help="API keys for the HTTP API: add, list, revoke.")
def keys() -> None:
    pass


@keys.command(
    help="Make a key and print it once, alone on the last line. NAME is what the key is for "
    "(letters, digits, '.', '_', '-')."
)
@click.argument("name")
@click.option(
    "--user", default="", help="the user it asks as (access control, memory); default: none"
)
@click.option(
    "--channel", default="", help="the channel it asks in (access control, budgets); default: none"
)
@click.option(
    "--per-minute", type=int, help="its rate limit (default: API_RATE_LIMIT_PER_MINUTE; 0: none)"
)
def add(name: str, user: str, channel: str, per_minute: int | None) -> int:
    def run(api_keys, settings) -> None:
        secret = api_keys.add(name, user, channel, per_minute)
        limit = per_minute if per_minute is not None else settings.api_rate_limit_per_minute
        print(
            f"Key {name!r} asks as {describe(user, channel)}, {limit or 'unlimited'} requests "
            "a minute. It is shown only now; send it as `Authorization: Bearer KEY`:"
        )
        print(secret)

    return with_keys(run)


@keys.command("list", help="The keys (names, what they act as; never the keys themselves).")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per key")
def list_keys(as_json: bool) -> int:
    def run(api_keys, settings) -> None:
        for key in api_keys.list():
            shown = {
                "name": key.name,
                "user": key.user,
                "channel": key.channel,
                "per_minute": key.per_minute,
                "created": time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.created)),
            }
            print(
                json.dumps(shown)
                if as_json
                else f"{key.name}\t{describe(key.user, key.channel)}\tper minute: {'default' if key.per_minute is None else key.per_minute}"
                f"\tcreated {shown['created']} UTC"
            )

    return with_keys(run)


@keys.command(help="Stop a key working, at once. NAME is the key's name.")
@click.argument("name")
def revoke(name: str) -> int:
    def run(api_keys, settings) -> None:
        api_keys.revoke(name)
        print(f"Revoked {name!r}: requests with it now get 401.")

    return with_keys(run)


def with_keys(run) -> int:
    from bot.chain.thread_memory import connect
    from bot.settings import load_settings
    from bot.web.api_keys import ApiKeys

    try:
        settings = load_settings()
        run(ApiKeys(connect(settings.redis_url), settings.redis_prefix), settings)
    except (BotError, KnowledgeError) as error:
        return fail(error)
    return 0


def describe(user: str, channel: str) -> str:
    return f"user {user or '(any it names)'} in channel {channel or '(any it names)'}"
