"""`bot mcp`: the knowledge base as an MCP server on stdio (bot/mcp_server/), for a desktop
client's config. Over HTTP the same server is at /mcp of `bot serve --http`."""

from __future__ import annotations

import contextlib
import sys

import click

from bot.cli.ops_commands import asker_options
from bot.cli.session import with_agent


@click.command(
    help="Serve the knowledge base to an MCP client (Claude Desktop, Cursor, VS Code) on stdin/stdout. "
    "Calls ask as --user in --channel: what they may read is what is searched and answered from."
)
@asker_options
def mcp(user: str, channel: str, everything: bool) -> int:
    from bot.mcp_server.callers import local_caller
    from bot.mcp_server.stdio import serve_stdio

    identify, protocol = local_caller(user, channel, everything), sys.stdout

    def serve(agent, deps) -> int:
        with contextlib.redirect_stdout(
            protocol
        ):  # the SDK takes the protocol's stdout from sys.stdout
            return serve_stdio(deps, agent, identify)

    # stdout is the protocol's: whatever loading the model prints goes to stderr instead.
    with contextlib.redirect_stdout(sys.stderr):
        return with_agent(serve)
