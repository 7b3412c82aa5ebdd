"""Notion's public API on localhost, shaped as its reference documents (version 2022-06-28):
`search` and `databases/{id}/query` (POST, `start_cursor` / `next_cursor` / `has_more`), block
children (GET), Bearer auth, and errors as {"object": "error", "status", "code", "message"}."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.fakes.json_api import JsonApi, Reply, Request

MAX_PAGE = 2
"""Notion allows page_size up to 100; a small cap here makes every list paginate."""


@dataclass
class NotionPage:
    id: str
    title: str
    edited: str
    blocks: list[dict] = field(default_factory=list)
    database: str = ""
    properties: dict = field(default_factory=dict)
    archived: bool = False


def block(kind: str, text: str, children: list[dict] | None = None) -> dict:
    return {
        "object": "block",
        "id": f"b-{abs(hash((kind, text))) % 10**8}",
        "type": kind,
        "has_children": bool(children),
        kind: {"rich_text": [{"type": "text", "plain_text": text}]},
        "_children": children or [],
    }


class FakeNotion(JsonApi):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.pages: dict[str, NotionPage] = {}
        self.databases: dict[str, str] = {}
        """database id -> title"""

    def route(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(401, "unauthorized", "API token is invalid.")
        if request.headers.get("notion-version") != "2022-06-28":
            return error(400, "missing_version", "Notion-Version header failed validation.")
        parts = request.path.strip("/").split("/")
        if request.path == "/v1/search":
            kind = request.body.get("filter", {}).get("value")
            items = (
                [self.page_json(p) for p in self.pages.values()]
                if kind == "page"
                else [
                    {
                        "object": "database",
                        "id": d,
                        "title": [{"plain_text": t}],
                        "last_edited_time": "2026-01-01T00:00:00.000Z",
                    }
                    for d, t in self.databases.items()
                ]
            )
            items.sort(key=lambda item: item["last_edited_time"], reverse=True)
            return self.listing(request.body, items)
        if parts[:2] == ["v1", "databases"] and parts[3:] == ["query"]:
            if parts[2] not in self.databases:
                return error(
                    404,
                    "object_not_found",
                    f"Could not find database with ID: {parts[2]}.",
                )
            since = (
                request.body.get("filter", {}).get("last_edited_time", {}).get("on_or_after", "")
            )
            rows = [
                self.page_json(p)
                for p in self.pages.values()
                if p.database == parts[2] and p.edited >= since
            ]
            return self.listing(request.body, rows)
        if parts[:2] == ["v1", "blocks"] and parts[3:] == ["children"]:
            children = self.children(parts[2])
            if children is None:
                return error(
                    404,
                    "object_not_found",
                    f"Could not find block with ID: {parts[2]}.",
                )
            return self.listing(
                request.query,
                [{k: v for k, v in b.items() if k != "_children"} for b in children],
            )
        return error(400, "invalid_request_url", "Invalid request URL.")

    def children(self, block_id: str) -> list[dict] | None:
        if block_id in self.pages:
            return self.pages[block_id].blocks
        stack = [b for p in self.pages.values() for b in p.blocks]
        while stack:
            found = stack.pop()
            if found["id"] == block_id:
                return found["_children"]
            stack += found["_children"]
        return None

    def listing(self, params: dict, items: list[dict]) -> Reply:
        start = int(params.get("start_cursor") or 0)
        size = min(int(params.get("page_size") or 100), MAX_PAGE)
        more = start + size < len(items)
        return Reply(
            200,
            {
                "object": "list",
                "results": items[start : start + size],
                "next_cursor": str(start + size) if more else None,
                "has_more": more,
            },
        )

    def page_json(self, page: NotionPage) -> dict:
        parent = (
            {"type": "database_id", "database_id": page.database}
            if page.database
            else {"type": "workspace", "workspace": True}
        )
        return {
            "object": "page",
            "id": page.id,
            "last_edited_time": page.edited,
            "archived": page.archived,
            "in_trash": page.archived,
            "url": f"https://www.notion.so/{page.id}",
            "parent": parent,
            "properties": {
                "Name": {
                    "id": "title",
                    "type": "title",
                    "title": [{"plain_text": page.title}],
                },
                **page.properties,
            },
        }


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"object": "error", "status": status, "code": code, "message": message})
