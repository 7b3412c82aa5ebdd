"""Confluence Cloud on localhost, shaped as its REST API v2 documents: spaces and pages lists
with `_links.next` cursors (a path from the host) and `_links.base`, labels, v1 read
restrictions, basic auth, and v2 error bodies {"errors": [{"status", "code", "title", "detail"}]}."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from tests.fakes.json_api import JsonApi, Reply, Request

MAX_LIMIT = 2
"""Confluence caps `limit` per endpoint; a small cap here makes every list paginate."""


@dataclass
class Page:
    id: str
    space: str
    title: str
    storage: str
    modified: str
    version: int = 1
    labels: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    parent: str = ""


class FakeConfluence(JsonApi):
    def __init__(self, email: str, token: str) -> None:
        super().__init__()
        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.spaces = {"ENG": "1001", "HR": "1002"}
        self.pages: dict[str, Page] = {}

    @property
    def site(self) -> str:
        return f"{self.url}/wiki"

    def route(self, request: Request) -> Reply:
        if request.headers.get("authorization") != self.auth:
            return error(401, "UNAUTHORIZED", "Unauthorized; scope does not match")
        path = request.path.removeprefix("/wiki")
        parts = path.strip("/").split("/")
        if path == "/api/v2/spaces":
            keys = request.query.get("keys", "").split(",")
            return self.listing(
                request,
                [{"id": i, "key": k, "name": k} for k, i in self.spaces.items() if k in keys],
            )
        if parts[:3] == ["api", "v2", "spaces"] and parts[4:] == ["pages"]:
            pages = sorted(
                (p for p in self.pages.values() if self.spaces[p.space] == parts[3]),
                key=lambda p: p.modified,
                reverse=request.query.get("sort") == "-modified-date",
            )
            return self.listing(
                request,
                [self.page_json(p, request.query.get("body-format")) for p in pages],
            )
        if (
            parts[:3] == ["api", "v2", "pages"]
            and parts[4:] == ["labels"]
            and parts[3] in self.pages
        ):
            labels = [
                {"id": str(n), "name": name, "prefix": "global"}
                for n, name in enumerate(self.pages[parts[3]].labels)
            ]
            return self.listing(request, labels)
        if (
            parts[:3] == ["api", "v2", "pages"]
            and parts[4:] == ["ancestors"]
            and parts[3] in self.pages
        ):
            chain, page = [], self.pages[parts[3]]
            while page.parent:  # the root first, as Confluence lists them
                chain.insert(0, {"id": page.parent, "type": "page"})
                page = self.pages[page.parent]
            return self.listing(request, chain)
        if parts[:4] == ["rest", "api", "content", parts[3]] and parts[4:] == [
            "restriction",
            "byOperation",
            "read",
        ]:
            page = self.pages.get(parts[3])
            if page is None:
                return Reply(
                    404,
                    {
                        "statusCode": 404,
                        "message": f"No content found with id: {parts[3]}",
                    },
                )
            return Reply(
                200,
                {
                    "operation": "read",
                    "restrictions": {
                        "user": {
                            "results": [{"type": "known", "accountId": u} for u in page.users],
                            "size": len(page.users),
                        },
                        "group": {
                            "results": [{"type": "group", "name": g} for g in page.groups],
                            "size": len(page.groups),
                        },
                    },
                },
            )
        return error(404, "NOT_FOUND", f"no route {request.path}")

    def listing(self, request: Request, items: list[dict]) -> Reply:
        start = int(request.query.get("cursor", "0"))
        limit = min(int(request.query.get("limit", "25")), MAX_LIMIT)
        links = {"base": self.site}
        if start + limit < len(items):
            query = "&".join(
                f"{k}={v}" for k, v in {**request.query, "cursor": start + limit}.items()
            )
            links["next"] = f"{request.path}?{query}"
        return Reply(200, {"results": items[start : start + limit], "_links": links})

    def page_json(self, page: Page, body_format: str | None) -> dict:
        found = {
            "id": page.id,
            "status": "current",
            "title": page.title,
            "spaceId": self.spaces[page.space],
            "version": {"number": page.version, "createdAt": page.modified},
            "_links": {"webui": f"/spaces/{page.space}/pages/{page.id}"},
        }
        if body_format == "storage":
            found["body"] = {"storage": {"representation": "storage", "value": page.storage}}
        return found


def error(status: int, code: str, detail: str) -> Reply:
    return Reply(
        status,
        {
            "errors": [
                {
                    "status": status,
                    "code": code,
                    "title": code.title(),
                    "detail": detail,
                }
            ]
        },
    )
