"""One HTTP client for every connector: retries 429 after its Retry-After and 5xx with backoff,
and turns 401/403 into a `SourceAuthError` that says which setting to fix. httpx does the HTTP."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx

from ingest.connectors.base import ConnectorError, SourceAuthError, SourceUnavailable

RETRIES = 5
MAX_WAIT_S = 60.0
"""A Retry-After longer than this is not waited out: the run fails and the next one resumes."""


class SourceClient:
    """`client.request(...)`, retried; `describe(response)` names the API's error in words."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        token_hint: str,
        describe: Callable[[httpx.Response], str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.token_hint = token_hint
        self.describe = describe
        self.sleep = sleep
        self.requests = 0

    def request(
        self, method: str, url: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response:
        for attempt in range(RETRIES + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if attempt == RETRIES:
                    raise SourceUnavailable(f"{url}: {type(error).__name__}: {error}") from None
                self.sleep(min(2**attempt, MAX_WAIT_S))
                continue
            self.requests += 1
            if response.status_code in ok:
                return response
            if response.status_code in (401, 403):
                raise SourceAuthError(f"{self.describe(response)}; {self.token_hint}")
            if response.status_code == 429 or response.status_code >= 500:
                wait = retry_after(response, default=2.0**attempt)
                if attempt == RETRIES or wait > MAX_WAIT_S:
                    raise SourceUnavailable(
                        f"{url}: {self.describe(response)} (gave up after {attempt + 1} tries; "
                        "the next run resumes)"
                    )
                self.sleep(wait)
                continue
            raise ConnectorError(f"{url}: {self.describe(response)}")
        raise AssertionError("unreachable")

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.request(method, url, **kwargs).json()


def retry_after(response: httpx.Response, default: float) -> float:
    """Seconds to wait: Retry-After as seconds or an HTTP date, else `default`."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return default
    if value.replace(".", "", 1).isdigit():
        return float(value)
    parsed = email.utils.parsedate_to_datetime(value)
    return max(0.0, parsed.timestamp() - time.time()) if parsed else default


def json_message(response: httpx.Response, *keys: str) -> str:
    """HTTP status and the first of `keys` found in a JSON error body, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in keys:
            if body.get(key):
                return f"HTTP {response.status_code}: {body[key]}"
    return f"HTTP {response.status_code}: {response.text[:200]}"
