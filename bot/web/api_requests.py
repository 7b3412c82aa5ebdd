"""The HTTP API's requests and responses below its routes: `ApiError` (a refusal: its status,
what to fix, OpenAI's `code` and `type`), the API key a request carries, its JSON body read
within a size limit and validated, and a JSON response."""

from __future__ import annotations

import json
from collections.abc import Iterable

import redis
from pydantic import BaseModel, ValidationError

from bot.web.api_keys import ApiKey, ApiKeys


class ApiError(Exception):
    """A request the API refuses: its status, what to fix, and OpenAI's `code` and `type`."""

    def __init__(
        self,
        status: str,
        message: str,
        code: str,
        kind: str = "invalid_request_error",
        param: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.kind, self.param = (
            status,
            message,
            code,
            kind,
            param,
        )
        self.headers = list(headers)

    def body(self) -> dict:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


def authenticated(keys: ApiKeys, environ) -> ApiKey:
    """The API key the request carries (401 without one, or with one not known)."""
    scheme, _, secret = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(
            "401 Unauthorized",
            "Send an API key: `Authorization: Bearer KEY` (`bot keys add NAME` makes one).",
            "missing_api_key",
            headers=[("WWW-Authenticate", "Bearer")],
        )
    try:
        key = keys.find(secret.strip())
    except redis.RedisError as error:
        raise ApiError(
            "503 Service Unavailable",
            f"API keys cannot be checked: Redis is unreachable ({error}).",
            "unavailable",
            kind="server_error",
            headers=[("Retry-After", "5")],
        ) from None
    if key is None:
        raise ApiError(
            "401 Unauthorized",
            "That API key is not known (revoked, or mistyped).",
            "invalid_api_key",
            headers=[("WWW-Authenticate", "Bearer")],
        )
    return key


def read_json(environ, model: type[BaseModel], limit: int):
    """The body as `model`: at most `limit` bytes (API_MAX_REQUEST_BYTES) of JSON that validates."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length > limit:
        raise ApiError(
            "413 Content Too Large",
            f"The body has {length} bytes; at most {limit} are taken (API_MAX_REQUEST_BYTES).",
            "request_too_large",
        )
    if length <= 0:
        raise ApiError(
            "411 Length Required", "Send a JSON body with its Content-Length.", "invalid_body"
        )
    try:
        data = json.loads(environ["wsgi.input"].read(length))
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            "400 Bad Request", f"The body is not JSON ({error}).", "invalid_json"
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        raise ApiError(
            "400 Bad Request",
            f"The body is not a valid request: {problems}.",
            "invalid_request",
            param=where or None,
        ) from None


def respond(
    start_response, status: str, body: dict, headers: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    payload = json.dumps(body, ensure_ascii=False).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers],
    )
    return [payload]
