"""`bot mcp`: the MCP server on stdio, as a desktop client starts it, through the official SDK's
client: the same tools, asking as the `--user` and `--channel` it was given."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import redis
from mcp import Client, StdioServerParameters

from tests.mcp_client import environment
from tests.test_mcp import SALARY, kb  # noqa: F401 (a fixture)


def test_stdio_serves_the_same_tools_as_the_user_and_channel_given(
    kb,  # noqa: F811 (the fixture)
    redis_url,
    redis_prefix,
):
    env = environment(kb, redis_url, redis_prefix)
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "bot"),
        args=["mcp", "--user", "U1", "--channel", "CHR"],
        env=env,
    )

    async def run():
        async with Client(params, read_timeout_seconds=180) as client:
            tools = await client.list_tools()
            listed = await client.call_tool("list_sources", {})
            found = await client.call_tool("search_knowledge", {"query": SALARY})
            asked = await client.call_tool("ask", {"question": SALARY, "thread": "s1"})
            return tools, listed, found, asked

    tools, listed, found, asked = anyio.run(run)
    assert {tool.name for tool in tools.tools} == {
        "search_knowledge",
        "ask",
        "list_sources",
        "rate_answer",
    }
    assert "Salary bands 2026" in [s["title"] for s in listed.structured_content["sources"]]
    assert found.structured_content["passages"][0]["title"] == "Salary bands 2026"
    assert "71,000" in asked.structured_content["answer"] and asked.structured_content["sources"]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    turn = json.loads(client.get(f"{redis_prefix}turn:{asked.structured_content['turn_id']}"))
    assert (turn["channel"], turn["thread"]) == ("CHR", "mcp:local:s1")
