"""Confluence Cloud (REST API v2): the current pages of the given spaces in storage format, their
labels as tags, and their read restrictions as audiences where sources.yaml `readers` maps every
reader (an account id or group name -> user:U… / usergroup:S…). A page restricted to a reader
that cannot be expressed is not ingested, and the status says so. Incremental runs read pages
newest-modified first and stop at the last run's mark; the cursor is `_links.next`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

import httpx

from ingest.connectors.base import ConnectorError, Pull, SourceAuthError
from ingest.connectors.http import SourceClient
from ingest.documents import SourceFile
from ingest.errors import UnreadableSource
from ingest.loaders import html_document

PAGE_LIMIT = 250
TOKEN_HINT = (
    "set CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN (an API token of that account, from "
    "id.atlassian.com > Security > API tokens; it may have expired) and check the account can read the spaces"
)


class Confluence:
    full_only = False

    def __init__(self, source, settings, *, transport: httpx.BaseTransport | None = None) -> None:
        token = settings.confluence_api_token.get_secret_value()
        if not (settings.confluence_email and token):
            raise SourceAuthError(f"source {source.name}: no Confluence credentials; {TOKEN_HINT}")
        if not source.spaces:
            raise ConnectorError(
                f"source {source.name}: list the space keys to read under `spaces:` in sources.yaml"
            )
        self.source = source
        self.site = source.locations[0].rstrip("/")
        parts = urlsplit(self.site)
        self.host = f"{parts.scheme}://{parts.netloc}"
        client = httpx.Client(
            auth=(settings.confluence_email, token),
            timeout=30,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.http = SourceClient(client, token_hint=TOKEN_HINT, describe=describe)
        self._restrictions: dict[str, list[tuple[str, str]]] = {}
        """Page id -> its own read restriction, read once a run (ancestors are shared)."""

    def pull(self, pull: Pull, full: bool) -> None:
        marks: dict[str, str] = pull.state.setdefault("modified", {})
        try:
            for key, space_id in self._spaces():
                since = "" if full else marks.get(key, "")
                newest = since
                for page, base in self._pages(space_id, since):
                    modified = page.get("version", {}).get("createdAt", "")
                    newest = max(newest, modified)
                    self._page(page, base, pull)
                if newest:
                    marks[key] = newest  # advanced only once the whole space was read
        finally:
            pull.requests = self.http.requests

    def _spaces(self) -> list[tuple[str, str]]:
        found = {
            s["key"]: s["id"]
            for s in self._each(
                f"{self.site}/api/v2/spaces",
                {"keys": ",".join(self.source.spaces), "limit": 250},
            )
        }
        missing = [key for key in self.source.spaces if key not in found]
        if missing:
            raise ConnectorError(
                f"no Confluence space {', '.join(missing)} visible to CONFLUENCE_EMAIL; "
                "check the keys in sources.yaml and the account's permissions"
            )
        return [(key, found[key]) for key in self.source.spaces]

    def _pages(self, space_id: str, since: str):
        """(page, site base) newest-modified first, until one not newer than `since`."""
        params = {
            "body-format": "storage",
            "limit": PAGE_LIMIT,
            "sort": "-modified-date",
            "status": "current",
        }
        for page, base in self._each(
            f"{self.site}/api/v2/spaces/{space_id}/pages", params, with_base=True
        ):
            if since and page.get("version", {}).get("createdAt", "") <= since:
                return
            yield page, base

    def _each(self, url: str, params: dict | None = None, *, with_base: bool = False):
        """Every result of a v2 list, following `_links.next` (a path relative to the site's host)."""
        while url:
            body = self.http.json("GET", url, params=params)
            base = body.get("_links", {}).get("base", self.site)
            for item in body.get("results", []):
                yield (item, base) if with_base else item
            following = body.get("_links", {}).get("next")
            url, params = (urljoin(self.host, following), None) if following else ("", None)

    def _page(self, page: dict, base: str, pull: Pull) -> None:
        audience, unmapped = self._audience(page["id"])
        if unmapped:
            pull.removed.add(page["id"])
            pull.skipped.append(
                {
                    "item": page.get("title", page["id"]),
                    "reason": f"restricted to {', '.join(unmapped)}, who have no entry under `readers:` "
                    "in sources.yaml; not ingested",
                }
            )
            return
        storage = page.get("body", {}).get("storage", {}).get("value", "")
        link = f"{base.rstrip('/')}{page.get('_links', {}).get('webui', '')}"
        try:
            doc = html_document(
                SourceFile(PurePosixPath(page["id"]), link),
                f"<html><body>{storage}</body></html>",
            )
        except UnreadableSource as error:
            pull.skipped.append({"item": page.get("title", page["id"]), "reason": str(error)})
            return
        labels = [
            label["name"] for label in self._each(f"{self.site}/api/v2/pages/{page['id']}/labels")
        ]
        pull.add(
            replace(
                doc,
                doc_id=page["id"],
                title=page.get("title") or doc.title,
                source=link,
                audience=audience,
                tags=tuple(labels),
                metadata={
                    "space": page.get("spaceId", ""),
                    "version": page.get("version", {}).get("number"),
                },
            )
        )

    def _audience(self, page_id: str) -> tuple[tuple[str, ...], list[str]]:
        """Who may read the page, as audiences (empty: anyone who can read the space), and the
        readers that cannot be expressed. Confluence applies an ancestor's read restriction to
        the pages under it, so every level counts; several restricted levels are expressible only
        when they name the same readers (audiences are any-of, not all-of)."""
        ancestors = [a["id"] for a in self._each(f"{self.site}/api/v2/pages/{page_id}/ancestors")]
        levels = [found for level in [*ancestors, page_id] if (found := self._readers(level))]
        if not levels:
            return (), []
        if any(set(level) != set(levels[0]) for level in levels):
            return (), ["readers restricted differently at several levels of the page tree"]
        readers = self.source.readers
        unmapped = [name for key, name in levels[0] if key not in readers]
        return tuple(
            dict.fromkeys(readers[key] for key, _ in levels[0] if key in readers)
        ), unmapped

    def _readers(self, page_id: str) -> list[tuple[str, str]]:
        """(account id or group name, how to say it) of a page's own read restriction; [] when open."""
        if page_id not in self._restrictions:
            url = f"{self.site}/rest/api/content/{page_id}/restriction/byOperation/read"
            found = self.http.json("GET", url).get("restrictions", {})
            users = found.get("user", {}).get("results", [])
            groups = found.get("group", {}).get("results", [])
            self._restrictions[page_id] = [
                (u.get("accountId", ""), f"user {u.get('accountId')}") for u in users
            ] + [(g.get("name", ""), f"group {g.get('name')}") for g in groups]
        return self._restrictions[page_id]


def describe(response: httpx.Response) -> str:
    """v2 errors are {"errors": [{"status", "code", "title", "detail"}]}; v1 ones {"message"}."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        first = errors[0]
        return f"HTTP {response.status_code} {first.get('code', '')}: {first.get('detail') or first.get('title', '')}"
    return f"HTTP {response.status_code}: {body.get('message', '') if isinstance(body, dict) else body}"
