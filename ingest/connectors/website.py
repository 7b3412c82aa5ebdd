"""A website: every HTML page under a URL prefix (following links), or the pages a sitemap.xml
lists. robots.txt is honoured. Every run is a full pass, made cheap by conditional GETs: a page
sent before is asked for with its ETag / Last-Modified, and a 304 costs that one request and no
embedding (its links, remembered from last time, keep the crawl going). A page that answers 404
or 410, or is no longer linked, is gone: the runner deletes it."""

from __future__ import annotations

import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser
from xml.etree import ElementTree

import httpx
from bs4 import BeautifulSoup

from ingest.connectors.base import ConnectorError, Pull, SourceUnavailable
from ingest.connectors.http import SourceClient
from ingest.documents import SourceFile
from ingest.errors import UnreadableSource
from ingest.loaders import html_document

USER_AGENT = "kb-assistant-ingest"
WORKERS = 8
GONE = (404, 410)


class Website:
    full_only = True

    def __init__(
        self, source, settings=None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.source = source
        self.start = source.locations[0]
        self.sitemap = urlsplit(self.start).path.endswith(".xml")
        self.prefix = self.start.rsplit("/", 1)[0] + "/" if self.sitemap else self.start
        client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=30,
            follow_redirects=True,
            transport=transport,
            limits=httpx.Limits(max_connections=WORKERS),
        )
        self.http = SourceClient(
            client,
            token_hint="the site refused the crawler; check `where` in sources.yaml",
            describe=lambda r: f"HTTP {r.status_code} {r.reason_phrase}",
        )

    def pull(self, pull: Pull, full: bool) -> None:
        known: dict[str, dict] = pull.state.setdefault("pages", {})
        robots = self._robots()
        seen: set[str] = set()
        frontier = self._sitemap_pages() if self.sitemap else [self.start]
        with ThreadPoolExecutor(WORKERS) as pool:
            while frontier:
                batch = [
                    url
                    for url in dict.fromkeys(frontier)
                    if url not in seen and len(seen) < self.source.max_pages
                ]
                seen.update(batch)
                allowed = [url for url in batch if robots.can_fetch(USER_AGENT, url)]
                pull.skipped += [
                    {"item": url, "reason": "robots.txt disallows it"}
                    for url in batch
                    if url not in allowed
                ]
                frontier = []
                for links in pool.map(lambda u: self._page(u, known, pull), allowed):
                    if not self.sitemap:
                        frontier += [link for link in links if link not in seen]
        for url in list(known):
            if url not in pull.present:
                del known[url]  # gone or unlinked: next time it is fetched afresh
        pull.requests = self.http.requests

    def _page(self, url: str, known: dict[str, dict], pull: Pull) -> list[str]:
        """Fetch one page (conditionally); its links within the prefix."""
        before = known.get(url, {})
        headers = {
            k: v
            for k, v in (
                ("If-None-Match", before.get("etag")),
                ("If-Modified-Since", before.get("modified")),
            )
            if v
        }
        try:
            response = self.http.request("GET", url, headers=headers, ok=(200, 304, *GONE))
        except (SourceUnavailable, ConnectorError) as error:
            if before:  # keep serving the version we have rather than delete it
                pull.present.add(url)
            pull.skipped.append({"item": url, "reason": str(error)})
            return before.get("links", [])
        if response.status_code in GONE:
            return []
        if response.status_code == 304:
            pull.present.add(url)
            return before.get("links", [])
        if "html" not in response.headers.get("content-type", "text/html"):
            pull.skipped.append(
                {
                    "item": url,
                    "reason": f"not HTML ({response.headers['content-type']})",
                }
            )
            return []
        final = str(response.url)
        soup = BeautifulSoup(response.text, "html.parser")  # once: links first, then the text
        links = self._links(final, soup)
        known[url] = {
            "etag": response.headers.get("etag"),
            "modified": response.headers.get("last-modified"),
            "links": links,
        }
        try:
            doc = html_document(
                SourceFile(PurePosixPath(urlsplit(final).path or "/index"), final),
                soup,
            )
        except UnreadableSource as error:
            pull.skipped.append({"item": url, "reason": str(error)})
            return links
        pull.add(
            replace(
                doc,
                doc_id=url,
                source=doc.source if doc.source.startswith("http") else final,
            )
        )
        return links

    def _links(self, base: str, soup: BeautifulSoup) -> list[str]:
        found = []
        for anchor in soup.find_all("a", href=True):
            url = _normal(urljoin(base, anchor["href"]))
            if url.startswith(self.prefix):
                found.append(url)
        return list(dict.fromkeys(found))

    def _robots(self) -> RobotFileParser:
        parts = urlsplit(self.start)
        robots = RobotFileParser()
        response = self.http.request(
            "GET", f"{parts.scheme}://{parts.netloc}/robots.txt", ok=(200, *GONE)
        )
        robots.parse(response.text.splitlines() if response.status_code == 200 else [])
        return robots

    def _sitemap_pages(self, url: str | None = None, depth: int = 0) -> list[str]:
        """The pages a sitemap lists; a sitemap index's sitemaps are read in turn."""
        response = self.http.request("GET", url or self.start)
        try:
            root = ElementTree.fromstring(response.content)
        except ElementTree.ParseError as error:
            raise ConnectorError(
                f"{url or self.start}: not a sitemap ({error}); give a sitemap.xml or a URL prefix"
            ) from None
        locs = [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
        if root.tag.endswith("sitemapindex") and depth < 2:
            return [page for sitemap in locs for page in self._sitemap_pages(sitemap, depth + 1)]
        return [_normal(loc) for loc in locs]


def _normal(url: str) -> str:
    """Without its fragment, with `.` and `..` resolved: one page, one address."""
    url, _ = urldefrag(url)
    parts = urlsplit(url)
    path = (
        posixpath.normpath(parts.path)
        + ("/" if parts.path.endswith("/") and parts.path != "/" else "")
        if parts.path
        else "/"
    )
    return parts._replace(path=path.replace("//", "/")).geturl()
