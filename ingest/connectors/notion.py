"""Notion (public API, version 2022-06-28): the pages and databases shared with the integration.
A page's blocks become Markdown (headings start sections); a database row's properties head its
text. Incremental runs read `search` newest-edited first and stop at the last run's mark
(`last_edited_time`); lists are followed by `next_cursor` while `has_more`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from ingest.connectors.base import Pull, SourceAuthError
from ingest.connectors.http import SourceClient
from ingest.documents import SourceDocument

VERSION = "2022-06-28"
PAGE_SIZE = 100
MAX_DEPTH = 4
TOKEN_HINT = (
    "set NOTION_TOKEN to the internal integration's secret (notion.so/my-integrations) and share the "
    "pages and databases to ingest with that integration (••• > Connections)"
)
PREFIX = {
    "heading_1": "# ",
    "heading_2": "## ",
    "heading_3": "### ",
    "bulleted_list_item": "- ",
    "numbered_list_item": "1. ",
    "to_do": "- [ ] ",
    "quote": "> ",
    "callout": "",
    "toggle": "",
    "paragraph": "",
    "code": "",
    "table_row": "",
}
SEPARATE = {"child_page", "child_database"}
"""Blocks that are documents of their own (read when search lists them)."""


class Notion:
    full_only = False

    def __init__(self, source, settings, *, transport: httpx.BaseTransport | None = None) -> None:
        token = settings.notion_token.get_secret_value()
        if not token:
            raise SourceAuthError(f"source {source.name}: NOTION_TOKEN is not set; {TOKEN_HINT}")
        self.source = source
        client = httpx.Client(
            base_url=settings.notion_api_url.rstrip("/"),
            timeout=30,
            transport=transport,
            headers={"Authorization": f"Bearer {token}", "Notion-Version": VERSION},
        )
        self.http = SourceClient(client, token_hint=TOKEN_HINT, describe=describe)

    def pull(self, pull: Pull, full: bool) -> None:
        since = "" if full else pull.state.get("edited", "")
        newest, seen = since, set()
        try:
            pages = list(self._search("page", since))
            for database in self._search("database", ""):
                pages += self._rows(database["id"], since)
            for page in pages:
                if page["id"] in seen:
                    continue
                seen.add(page["id"])
                newest = max(newest, page.get("last_edited_time", ""))
                if page.get("archived") or page.get("in_trash"):
                    pull.removed.add(page["id"])
                    continue
                pull.add(self._document(page))
            pull.state["edited"] = newest  # moved only once everything was read
        finally:
            pull.requests = self.http.requests

    def _search(self, kind: str, since: str) -> Iterator[dict]:
        body = {
            "filter": {"property": "object", "value": kind},
            "sort": {"direction": "descending", "timestamp": "last_edited_time"},
        }
        for item in self._list("POST", "/v1/search", body):
            # Notion rounds edit times to the minute: a page edited in the mark's minute is read again.
            if since and item.get("last_edited_time", "") < since:
                return
            yield item

    def _rows(self, database_id: str, since: str) -> list[dict]:
        body = (
            {
                "filter": {
                    "timestamp": "last_edited_time",
                    "last_edited_time": {"on_or_after": since},
                }
            }
            if since
            else {}
        )
        return list(self._list("POST", f"/v1/databases/{database_id}/query", body))

    def _list(self, method: str, path: str, body: dict | None = None) -> Iterator[dict]:
        cursor = None
        while True:
            if method == "POST":
                reply = self.http.json(
                    "POST",
                    path,
                    json={
                        **(body or {}),
                        "page_size": PAGE_SIZE,
                        **({"start_cursor": cursor} if cursor else {}),
                    },
                )
            else:
                reply = self.http.json(
                    "GET",
                    path,
                    params={
                        "page_size": PAGE_SIZE,
                        **({"start_cursor": cursor} if cursor else {}),
                    },
                )
            yield from reply.get("results", [])
            cursor = reply.get("next_cursor")
            if not reply.get("has_more") or not cursor:
                return

    def _document(self, page: dict) -> SourceDocument:
        title, fields = "", {}
        for name, prop in page.get("properties", {}).items():
            value = property_text(prop)
            if prop.get("type") == "title":
                title = value
            elif value:
                fields[name] = value
        lines = [f"**{name}:** {value}" for name, value in fields.items()]
        lines += self._blocks(page["id"], 0)
        text = "\n\n".join(line for line in lines if line.strip())
        return SourceDocument(
            doc_id=page["id"],
            title=title or "Untitled",
            source=page.get("url", ""),
            kind="doc",
            format="markdown",
            text=text or title,
            metadata={**fields, "edited": page.get("last_edited_time", "")},
        )

    def _blocks(self, block_id: str, depth: int) -> list[str]:
        lines = []
        for block in self._list("GET", f"/v1/blocks/{block_id}/children"):
            kind = block.get("type", "")
            if kind in SEPARATE:
                continue
            content = block.get(kind, {})
            text = (
                rich_text(content.get("rich_text", []))
                if "rich_text" in content
                else " | ".join(rich_text(cell) for cell in content.get("cells", []))
            )
            if kind == "code":
                text = f"```\n{text}\n```"
            if text:
                lines.append(
                    "  " * depth * (kind in ("bulleted_list_item", "numbered_list_item"))
                    + PREFIX.get(kind, "")
                    + text
                )
            if block.get("has_children") and depth < MAX_DEPTH:
                lines += self._blocks(block["id"], depth + 1)
        return lines


def rich_text(parts: list[dict]) -> str:
    return "".join(part.get("plain_text", "") for part in parts)


def property_text(prop: dict) -> str:
    """A page property's value as text (title, rich text, select, multi-select, number, date, ...)."""
    kind = prop.get("type", "")
    value = prop.get(kind)
    if kind in ("title", "rich_text"):
        return rich_text(value or [])
    if kind in ("select", "status"):
        return (value or {}).get("name", "")
    if kind == "multi_select":
        return ", ".join(option.get("name", "") for option in value or [])
    if kind == "date":
        return (value or {}).get("start", "")
    if kind in ("number", "checkbox", "url", "email", "phone_number"):
        return "" if value is None else str(value)
    return ""


def describe(response: httpx.Response) -> str:
    """Notion's errors are {"object": "error", "status", "code", "message"}."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and body.get("object") == "error":
        return f"HTTP {body.get('status', response.status_code)} {body.get('code', '')}: {body.get('message', '')}"
    return f"HTTP {response.status_code}"
