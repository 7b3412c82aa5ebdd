"""The MCP server through the official SDK's own client over streamable HTTP, against a real
`bot serve --http` process (one for the module; its keys from `bot keys`; stdio is in
tests/test_mcp_stdio.py). The sample knowledge base plus the restricted documents of the leak
suite (tests/test_access.py), real Redis and Qdrant; no model (extractive answers)."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from pathlib import Path

import anyio
import pytest
import redis
from mcp import MCPError

from bot.web.api_keys import ApiKeys
from ingest.pipeline import Pipeline
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.access_helpers import SECRETS, write_restricted
from tests.conftest import copy_store
from tests.mcp_client import Served, environment, post, raw_post
from tests.serve import Serve
from tests.slack_helpers import free_port, scrape
from tests.test_http_api import INJECTION

SALARY = "What are the salary bands for engineers?"
PUBLISHED = Path(__file__).parent / "data" / "mcp_published.json"
"""The tools and the resource template as clients see them (names, descriptions, schemas):
a change to what is published shows here first, and is made on purpose."""
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@pytest.fixture(scope="module")
def kb(tmp_path_factory, sample_store, embedder) -> Path:
    """The sample knowledge base plus the salary bands (channel CHR) and the on-call page (a user group)."""
    folder = tmp_path_factory.mktemp("mcp")
    store_path = copy_store(sample_store, folder / "kb")
    store = Store.open(KnowledgeSettings(qdrant_path=store_path))
    try:
        assert Pipeline(store, embedder, SparseEncoder()).run([write_restricted(folder / "hr")]).ok
    finally:
        store.close()
    return store_path


@pytest.fixture(scope="module")
def server(kb, redis_url):
    """`bot serve --http` with no Slack: the HTTP API and /mcp; keys for the HR channel and another."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    serve = Serve(environment(kb, redis_url, prefix), free_port())
    try:
        serve.wait_ready()
        keys = ApiKeys(client, prefix)
        yield Served(
            serve,
            client,
            prefix,
            keys,
            keys.add("hr", user="U1", channel="CHR", per_minute=0),
            keys.add("general", user="U1", channel="CGEN", per_minute=0),
        )
    finally:
        serve.stop()
        leftovers = list(client.scan_iter(f"{prefix}*"))
        if leftovers:
            client.delete(*leftovers)
        client.close()


def test_the_tools_are_listed_with_descriptions_and_schemas_a_model_can_use(server):
    async def run():
        async with server.session(server.hr) as client:
            return await client.list_tools(), await client.list_resource_templates()

    tools, templates = anyio.run(run)
    published = {
        "tools": [
            tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools.tools
        ],
        "resourceTemplates": [
            template.model_dump(mode="json", by_alias=True, exclude_none=True)
            for template in templates.resource_templates
        ],
    }
    assert unordered(published) == unordered(json.loads(PUBLISHED.read_text(encoding="utf-8")))
    by_name = {tool.name: tool for tool in tools.tools}
    assert set(by_name) == {"search_knowledge", "ask", "list_sources", "rate_answer"}
    for tool in by_name.values():
        assert len(tool.description) > 200 and "\n        " not in tool.description, tool.name
        assert tool.output_schema["type"] == "object", tool.name
    search = by_name["search_knowledge"].input_schema
    assert search["required"] == ["query"] and search["properties"]["limit"]["maximum"] == 20
    assert all(p.get("description") for p in search["properties"].values())
    assert by_name["ask"].input_schema["required"] == ["question"]
    assert {"answer", "sources", "refused", "reason", "mode", "turn_id"} <= set(
        by_name["ask"].output_schema["properties"]
    )
    assert by_name["search_knowledge"].annotations.read_only_hint is True
    assert [t.uri_template for t in templates.resource_templates] == ["kb://sources/{source_id}"]


def unordered(schema):
    """JSON Schema as a client reads it: a `required` list is a set of names (and dicts compare
    without their order)."""
    if isinstance(schema, dict):
        return {
            key: sorted(value) if key == "required" else unordered(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [unordered(item) for item in schema]
    return schema


def test_search_finds_passages_that_open_as_their_source(server):
    [found] = server.calls(
        server.general,
        ("search_knowledge", {"query": "How much can I spend on a hotel?", "limit": 3}),
    )
    passages = found.structured_content["passages"]
    assert not found.is_error and 1 <= len(passages) <= 3 and "150 EUR" in passages[0]["text"]
    assert passages[0]["score"] >= passages[-1]["score"] > 0
    assert all(p["title"] and p["link"] and p["source_id"] for p in passages)

    async def read(uri: str):
        async with server.session(server.general) as client:
            return await client.read_resource(uri)

    manual = next(p for p in passages if p["kind"] == "doc")
    uri = f"kb://sources/{manual['source_id']}"  # a short hex id: nothing to encode
    source = json.loads(anyio.run(read, uri).contents[0].text)
    assert source["id"] == manual["source_id"] and manual["id"] in [
        p["id"] for p in source["passages"]
    ]
    assert source["title"] == manual["title"] and len(source["passages"]) > 1


def test_ask_answers_with_sources_as_bot_ask_json_does_and_remembers_the_thread(server):
    [answered] = server.calls(
        server.hr, ("ask", {"question": "How much can I spend on a hotel?", "thread": "t1"})
    )
    result = answered.structured_content
    assert (
        not answered.is_error
        and not result["refused"]
        and "150 EUR" in result["answer"]
        and "[1]" in result["answer"]
    )
    assert result["sources"][0]["source"] and result["sources"][0]["text"] in result["answer"]
    turn = json.loads(server.redis.get(f"{server.prefix}turn:{result['turn_id']}"))
    assert (turn["channel"], turn["thread"]) == ("CHR", "mcp:hr:t1"), (
        "asked as the key's channel, in the key's thread"
    )
    assert server.redis.llen(f"{server.prefix}thread:mcp:hr:t1") == 1
    # The same answer as the HTTP API gives the same key (it is the same service).
    status, body = post(
        server, "/v1/ask", {"question": "How much can I spend on a hotel?"}, server.hr
    )
    assert status == 200 and set(body) == set(result), "the fields of `bot ask --json`, no more"
    assert body["answer"] == result["answer"] and body["sources"] == result["sources"]
    assert json.loads(answered.content[0].text) == result, "the text block is the same JSON"
    # Rated as Slack's buttons rate it: stored with the turn, under the key's user.
    vague, rated, unknown = server.calls(
        server.hr,
        ("rate_answer", {"turn_id": result["turn_id"], "helpful": False, "reason": "other"}),
        ("rate_answer", {"turn_id": result["turn_id"], "helpful": False, "reason": "outdated"}),
        ("rate_answer", {"turn_id": "0" * 32, "helpful": True}),
    )
    assert vague.is_error and "comment" in vague.content[0].text
    assert not rated.is_error and unknown.is_error and "no answer" in unknown.content[0].text
    stored = server.redis.hgetall(f"{server.prefix}feedback:{result['turn_id']}")
    assert [json.loads(v)["reason"] for v in stored.values()] == ["outdated"]


def test_a_restricted_document_is_hidden_from_a_key_that_may_not_read_it(server):
    calls = [
        ("list_sources", {}),
        ("search_knowledge", {"query": SALARY, "limit": 10}),
        ("ask", {"question": SALARY}),
    ]
    inside = server.calls(server.hr, *calls)
    outside = server.calls(server.general, *calls)
    salary = next(
        s for s in inside[0].structured_content["sources"] if s["title"] == "Salary bands 2026"
    )
    assert salary["restricted"] and salary["kind"] == "doc" and salary["tags"] == ["hr", "pay"]
    assert salary["id"] in [p["source_id"] for p in inside[1].structured_content["passages"]]
    assert "71,000" in inside[2].structured_content["answer"]

    assert salary["id"] not in [s["id"] for s in outside[0].structured_content["sources"]]
    assert (
        len(outside[0].structured_content["sources"])
        == len(inside[0].structured_content["sources"]) - 1
    )
    assert salary["id"] not in [p["source_id"] for p in outside[1].structured_content["passages"]]
    everything_said = json.dumps([result.structured_content for result in outside])
    assert not [secret for secret in SECRETS if secret in everything_said]

    async def read(key: str):
        async with server.session(key) as client:
            try:
                return await client.read_resource(salary["uri"])
            except MCPError as error:
                return error

    assert "71,000" in anyio.run(read, server.hr).contents[0].text
    refused = anyio.run(read, server.general)
    assert (
        isinstance(refused, MCPError)
        and "no source" in str(refused)
        and "71,000" not in str(refused)
    )


def test_a_prompt_injection_is_refused_as_slack_and_the_api_refuse_it(server):
    asked, searched = server.calls(
        server.general, ("ask", {"question": INJECTION}), ("search_knowledge", {"query": INJECTION})
    )
    refused = asked.structured_content
    assert (refused["refused"], refused["reason"], refused["sources"]) == (
        True,
        "prompt_injection",
        [],
    )
    # test_http_api shows /v1/ask posts the words Slack posts; the MCP answer is the same.
    assert (
        refused["answer"]
        == post(server, "/v1/ask", {"question": INJECTION}, server.general)[1]["answer"]
    )
    assert searched.structured_content == {
        "passages": [],
        "refused": True,
        "reason": "prompt_injection",
        "message": refused["answer"],
    }


def test_a_bad_or_revoked_key_is_refused_before_any_tool(server):
    for key in ("kb-not-a-key", ""):
        status, headers, body = raw_post(server.url, LIST, key)
        assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")
        error = json.loads(body)["error"]
        assert error["data"]["code"] == ("invalid_api_key" if key else "missing_api_key")
    # The SDK's client cannot even connect, and says why in the server's words.
    with pytest.raises((MCPError, BaseExceptionGroup)) as refused:
        server.calls("kb-not-a-key", ("list_sources", {}))
    assert "That API key is not known" in repr(refused.value)
    doomed = server.keys.add("doomed")
    assert not server.calls(doomed, ("list_sources", {}))[0].is_error
    server.keys.revoke("doomed")
    assert raw_post(server.url, LIST, doomed)[0] == 401
    assert 'kb_http_requests_total{route="/mcp",status="401"}' in scrape(server.serve.port)


def test_a_key_over_its_rate_is_told_when_to_call_again(server):
    slow = server.keys.add("slow-mcp", per_minute=1)
    first, second = server.calls(
        slow,
        ("search_knowledge", {"query": "vacation days"}),
        ("search_knowledge", {"query": "vacation days"}),
    )
    assert not first.is_error and second.is_error
    assert (
        "Too many requests" in second.content[0].text and "call again in" in second.content[0].text
    )


def test_one_connection_carries_the_calls_of_an_agent_and_the_other_routes(server):
    """HTTP/1.1 persistent connections (bot/web/http_server.py): no new connection a call."""
    connection = http.client.HTTPConnection("127.0.0.1", server.serve.port, timeout=120)
    search = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "search_knowledge", "arguments": {"query": "hotel", "limit": 2}},
    }
    calls = (
        ("POST", "/mcp", LIST, server.hr, 200),
        ("POST", "/mcp", search, server.hr, 200),
        ("POST", "/mcp", LIST, "kb-not-a-key", 401),  # refused before its body is read
        ("GET", "/healthz", None, "", 200),
        ("POST", "/v1/ask", {"question": "How much can I spend on a hotel?"}, server.hr, 200),
        ("POST", "/mcp", search, server.hr, 200),
    )
    sockets = []
    for method, path, body, key, status in calls:
        connection.request(
            method,
            path,
            body=json.dumps(body).encode() if body else None,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
            },
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert response.status == status, (path, answer)
        sockets.append(connection.sock)
    assert "150 EUR" in json.dumps(answer) and sockets[0] is not None
    assert all(sock is sockets[0] for sock in sockets)
    connection.close()


def test_a_client_gone_mid_body_leaves_mcp_serving(server):
    body = json.dumps(LIST).encode()
    with socket.create_connection(("127.0.0.1", server.serve.port), timeout=60) as client:
        client.sendall(
            b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\n"
            + f"Authorization: Bearer {server.hr}\r\nContent-Length: {len(body) + 50}\r\n\r\n".encode()
            + body
        )
        client.shutdown(socket.SHUT_WR)  # 50 bytes short, and nothing more to come
        while client.recv(65536):  # whatever it answers, then it closes (a hang fails the timeout)
            pass
    status, _, listed = raw_post(server.url, LIST, server.hr)
    assert status == 200 and "search_knowledge" in listed.decode()
    # A body over API_MAX_REQUEST_BYTES is refused unread, as on /v1/.
    status, _, refused = raw_post(server.url, {**LIST, "padding": "x" * 70_000}, server.hr)
    assert status == 413 and json.loads(refused)["error"]["data"]["code"] == "request_too_large"
