"""One command's session with the bot: the clients and the agent built once, the command run
with them, and what can go wrong turned into a message and exit code 2. `bot ask`, `bot chat`,
`bot serve` and `bot mcp` run in one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.cli.ops_commands import EMPTY_KB_HELP, fail
from bot.errors import BotError
from guards.errors import GuardError
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

if TYPE_CHECKING:
    from bot.chain.agent import Agent
    from bot.deps import Deps


def with_agent(run: Callable[[Agent, Deps], int], metrics: bool = False) -> int:
    """Build the clients and the agent once, run the command with them, and turn what can go
    wrong into a message and exit code 2."""
    from bot.chain.agent import Agent
    from bot.deps import build_deps
    from bot.settings import load_settings

    try:
        deps = build_deps(load_settings(), metrics=metrics)
    except (BotError, KnowledgeError, GuardError) as error:
        return fail(error)
    try:
        agent = Agent(deps)
        return run(agent, deps)
    except EmptyKnowledgeBase:
        return fail(EMPTY_KB_HELP)
    except (BotError, KnowledgeError) as error:
        return fail(error)
    finally:
        deps.close()
