"""`/kb channel` (admins): show or set how the bot behaves in a channel, or the workspace's
defaults (`/kb channel default ...`). What a channel answers from stays `/kb scope`'s."""

from __future__ import annotations

import re

from bot.chain.askers import ChannelScopes
from bot.slack.channel_policy import (
    WORKSPACE,
    ChannelPolicies,
    PolicyError,
    parse_settings,
)

CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
"""A channel as Slack escapes it in a command's text (`should_escape` in the manifest)."""
DEFAULTS = ("default", "defaults", "workspace")


def channel_command(
    policies: ChannelPolicies,
    scopes: ChannelScopes,
    args: list[str],
    here: str,
    command: str,
    variants: list[str],
) -> str:
    """`channel [#channel|default] [mode=mentions|questions] [cited=on|off] [ephemeral=on|off]
    [askers=@group,...|everyone] [variant=NAME|split]`; no settings: show them; `reset`: the defaults."""
    target = here
    if args and (mention := CHANNEL_MENTION.match(args[0])):
        target, args = mention.group(1), args[1:]
    elif args and args[0].lower() in DEFAULTS:
        target, args = WORKSPACE, args[1:]
    if not target or target.startswith("D"):
        return (
            f"Which channel? `{command} channel #channel [setting=value...]` (DMs always answer)."
        )
    name = "The workspace's default" if target == WORKSPACE else f"<#{target}>"
    if args == ["reset"]:
        policies.reset(target)
        return f"{name} is back to {'the built-in defaults' if target == WORKSPACE else 'the workspace defaults'}."
    try:
        changes = parse_settings(args, variants)
    except PolicyError as error:
        return (
            f"{error}. E.g. `{command} channel #ask-hr mode=questions cited=on ephemeral=off "
            f"askers=@hr-team variant=answer-v2`."
        )
    policy = policies.update(target, changes) if changes else policies.policy_of(target)
    lines = [f"*{name}*: {policy.describe()}"]
    if target != WORKSPACE:
        lines.append(
            f"*Answers from*: {scopes.scope_of(target).describe()} (`{command} scope` sets it)"
        )
    return "\n".join(lines)
