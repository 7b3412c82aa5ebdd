"""`bot mcp`: the MCP server on this process's stdin and stdout, for one person's desktop
client (its config starts the command). While it serves, the SDK points the process's own
stdout at stderr, so a library's stray print cannot break the protocol; before that (loading
the model), `bot mcp` does the same itself (bot/cli/mcp_commands.py)."""

from __future__ import annotations

import anyio

from bot.deps import Deps
from bot.mcp_server.callers import Identify
from bot.mcp_server.server import build_server
from bot.web.admission import Admission


def serve_stdio(deps: Deps, agent, identify: Identify) -> int:
    """Until the client closes stdin."""
    server = build_server(deps, agent, Admission.for_settings(deps.settings), identify)
    anyio.run(server.run_stdio_async)
    return 0
