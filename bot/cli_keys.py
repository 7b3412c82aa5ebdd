"""`bot keys add|list|revoke`: the HTTP API's keys (bot/keys.py). Reads and writes Redis only:
no model is loaded to manage a key."""

from __future__ import annotations

import argparse
import json
import sys
import time

from bot.errors import BotError
from knowledge.errors import KnowledgeError


def add_parser(commands) -> None:
    keys = commands.add_parser("keys", help="API keys for the HTTP API: add, list, revoke")
    actions = keys.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="make a key and print it once, alone on the last line")
    add.add_argument("name", help="what the key is for (letters, digits, '.', '_', '-')")
    add.add_argument("--user", default="", help="the user it asks as (access control, memory); default: none")
    add.add_argument("--channel", default="", help="the channel it asks in (access control, budgets); default: none")
    add.add_argument("--per-minute", type=int, help="its rate limit (default: API_RATE_LIMIT_PER_MINUTE; 0: none)")
    listing = actions.add_parser("list", help="the keys (names, what they act as; never the keys themselves)")
    listing.add_argument("--json", action="store_true", help="one JSON object per key")
    revoke = actions.add_parser("revoke", help="stop a key working, at once")
    revoke.add_argument("name")


def run(args: argparse.Namespace) -> int:
    from bot.keys import ApiKeys
    from bot.memory import connect
    from bot.settings import load_settings

    try:
        settings = load_settings()
        keys = ApiKeys(connect(settings.redis_url), settings.redis_prefix)
        if args.action == "add":
            secret = keys.add(args.name, args.user, args.channel, args.per_minute)
            limit = args.per_minute if args.per_minute is not None else settings.api_rate_limit_per_minute
            print(f"Key {args.name!r} asks as {describe(args.user, args.channel)}, {limit or 'unlimited'} requests "
                  "a minute. It is shown only now; send it as `Authorization: Bearer KEY`:")
            print(secret)
        elif args.action == "list":
            for key in keys.list():
                shown = {"name": key.name, "user": key.user, "channel": key.channel, "per_minute": key.per_minute,
                         "created": time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.created))}
                print(json.dumps(shown) if args.json else
                      f"{key.name}\t{describe(key.user, key.channel)}\tper minute: {'default' if key.per_minute is None else key.per_minute}"
                      f"\tcreated {shown['created']} UTC")
        else:
            keys.revoke(args.name)
            print(f"Revoked {args.name!r}: requests with it now get 401.")
    except (BotError, KnowledgeError) as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    return 0


def describe(user: str, channel: str) -> str:
    return f"user {user or '(any it names)'} in channel {channel or '(any it names)'}"
