"""A small website on localhost that a test edits between syncs: pages in a dict, ETags from
their content, a 304 for a matching If-None-Match, and a count of requests and 200s per path."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter

from tests.fakes.http import LocalServer, QuietHandler


class FakeSite(LocalServer):
    def __init__(self, pages: dict[str, str], robots: str = "") -> None:
        self.pages = dict(pages)
        self.robots = robots
        self.requests: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        """Requests answered with a body (200), per path."""
        self._lock = threading.Lock()
        site = self

        class _Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with site._lock:
                    site.requests[path] += 1
                    body = site.robots if path == "/robots.txt" else site.pages.get(path)
                if body is None:
                    return self.reply(404, "text/plain", b"not found")
                etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                with site._lock:
                    site.sent[path] += 1
                data = body.encode()
                self.send_response(200)
                self.send_header(
                    "Content-Type",
                    "text/plain" if path.endswith(".txt") else "text/html; charset=utf-8",
                )
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(_Handler)

    def reset_counts(self) -> None:
        self.requests.clear()
        self.sent.clear()


def page(title: str, body: str, links: list[str] = ()) -> str:
    anchors = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p>"
        f"<nav><ul>{anchors}</ul></nav></body></html>"
    )
