"""The MCP edge: the knowledge base as tools for other agents (Claude Desktop, Cursor, VS Code,
agents people write), over stdio (`bot mcp`) or streamable HTTP at /mcp (`bot serve --http`).

server.py builds the one `MCPServer` (tools, the document resource); callers.py says who a call
asks as (an API key, or the person running `bot mcp`); http.py hosts it inside the WSGI app;
stdio.py serves it on a terminal's pipes. Everything asks through bot/service.py and bot/lookup.py,
as Slack and the HTTP API do.
"""
