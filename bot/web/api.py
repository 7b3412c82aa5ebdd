"""The HTTP API edge: `POST /v1/ask`, `GET /v1/schema`, and the OpenAI-compatible
`POST /v1/chat/completions` and `GET /v1/models` (their shapes: bot/web/openai_compat.py).

Like the Slack edge it only adapts. Each request: its API key (401), its size (413), its
shape (400), who it asks as (403), its key's rate (429 with Retry-After), a turn among the
questions this process answers at once (503 with Retry-After), then the one service
(bot/service.py) with the same guards, cache, memory, usage, metrics and traces as Slack.
Errors are JSON in OpenAI's shape on every /v1 route: `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from bot.chain.answer import Answer
from bot.chain.answer_json import AskRequest, AskResult, published_schema
from bot.chain.i18n import language_of, text
from bot.deps import Deps
from bot.service import Failure, ask
from bot.web import openai_compat as openai_api
from bot.web.api_keys import ApiKey, ApiKeys
from bot.web.api_requests import ApiError, authenticated, read_json, respond
from bot.web.stepped import Done, answered_with_steps
from knowledge.access import Asker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who a request asks as: its key's user and channel, or those it names for a key bound to none."""

    key: ApiKey
    user: str
    channel: str

    def thread(self, name: str) -> str:
        """Threads are kept per key: another key (or a Slack thread) never reads this one's memory."""
        return f"api:{self.key.name}:{name}"


class HttpApi:
    def __init__(self, deps: Deps, agent, admission, keys: ApiKeys | None = None) -> None:
        self.deps, self.agent, self.admission = deps, agent, admission
        self.keys = keys or ApiKeys(deps.redis, deps.settings.redis_prefix)
        self.routes = {
            ("POST", "/v1/ask"): self.ask,
            ("GET", "/v1/schema"): self.schema,
            ("POST", "/v1/chat/completions"): self.chat,
            ("GET", "/v1/models"): self.models,
        }
        self.paths = {path for _, path in self.routes}

    def __call__(self, environ, start_response):
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")

        def counted(status: str, headers, exc_info=None):
            self.deps.telemetry.http_request(
                path if path in self.paths else "other", status.split()[0]
            )
            return start_response(status, headers, exc_info)

        try:
            route = self.routes.get((method, path))
            if route is None:
                allowed = sorted(m for m, p in self.routes if p == path)
                if allowed:
                    raise ApiError(
                        "405 Method Not Allowed",
                        f"{path} takes {' or '.join(allowed)}",
                        "method_not_allowed",
                        headers=[("Allow", ", ".join(allowed))],
                    )
                raise ApiError(
                    "404 Not Found",
                    f"There is no {method} {path}; the API is POST /v1/ask, GET /v1/schema, "
                    "POST /v1/chat/completions and GET /v1/models.",
                    "not_found",
                )
            return route(environ, counted)
        except ApiError as error:
            return respond(counted, error.status, error.body(), error.headers)

    # The routes.

    def schema(self, environ, start_response):
        return respond(start_response, "200 OK", published_schema())

    def ask(self, environ, start_response):
        key = authenticated(self.keys, environ)
        request = read_json(environ, AskRequest, self.deps.settings.api_max_request_bytes)
        caller = self.caller(key, request.user, request.channel)
        self.limit(key)
        answer = self.answer(
            request.question, caller.thread(request.thread) if request.thread else None, caller
        )
        return respond(start_response, "200 OK", AskResult.of(answer).as_json())

    def models(self, environ, start_response):
        authenticated(self.keys, environ)
        return respond(start_response, "200 OK", openai_api.models(self.deps.variants))

    def chat(self, environ, start_response):
        key = authenticated(self.keys, environ)
        request = read_json(
            environ, openai_api.ChatRequest, self.deps.settings.api_max_request_bytes
        )
        question = openai_api.question_of(request)
        if question is None:
            raise ApiError(
                "400 Bad Request",
                "The last message must be the user's question (role 'user', with text).",
                "invalid_messages",
                param="messages",
            )
        if request.model not in openai_api.model_ids(self.deps.variants):
            raise ApiError(
                "404 Not Found",
                f"There is no model {request.model!r}; GET /v1/models lists them "
                f"({', '.join(openai_api.model_ids(self.deps.variants))}).",
                "model_not_found",
                param="model",
            )
        caller = self.caller(key, request.user, None)
        self.limit(key)
        thread = caller.thread(request.thread or f"chat:{openai_api.conversation_id(request)}")
        if not request.stream:
            answer = self.answer(question, thread, caller, variant=request.model)
            return respond(start_response, "200 OK", openai_api.completion(answer, request.model))
        events = answered_with_steps(
            lambda: self.answer(question, thread, caller, variant=request.model)
        )
        first = next(events)
        if isinstance(first, Done) and first.error is not None:
            raise first.error  # nothing sent yet: an error status, as without streaming
        start_response(
            "200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        )
        language = language_of(question)
        return (
            event.encode()
            for event in openai_api.stepped_stream(
                first, events, request.model, request.include_usage, language
            )
        )

    # What every route that answers checks, in this order: authenticated(), read_json()
    # (bot/web/api_requests.py), then the caller and the key's rate.

    def caller(self, key: ApiKey, user: str | None, channel: str | None) -> Caller:
        """A key acts as its user and channel; only a key bound to neither may name them."""
        for what, bound, named in (("user", key.user, user), ("channel", key.channel, channel)):
            if bound and named and named != bound:
                raise ApiError(
                    "403 Forbidden",
                    f"Key {key.name!r} asks as {what} {bound}; it cannot ask as {named}.",
                    "permission_denied",
                    param=what,
                )
        return Caller(key, key.user or user or "", key.channel or channel or "")

    def limit(self, key: ApiKey) -> None:
        per_minute = (
            self.deps.settings.api_rate_limit_per_minute
            if key.per_minute is None
            else key.per_minute
        )
        wait = self.deps.gate.wait_s(f"apikey:{key.name}", per_minute)
        if wait:
            raise ApiError(
                "429 Too Many Requests",
                f"Key {key.name!r} may ask {per_minute} times a minute; ask "
                f"again in {math.ceil(wait)} s.",
                "rate_limit_exceeded",
                kind="requests",
                headers=[("Retry-After", str(math.ceil(wait)))],
            )

    def answer(
        self, question: str, thread: str | None, caller: Caller, variant: str | None = None
    ) -> Answer:
        with self.admission.slot() as admitted:
            if not admitted:
                raise ApiError(
                    "503 Service Unavailable",
                    text(language_of(question), "slack.busy"),
                    "busy",
                    kind="server_error",
                    headers=[("Retry-After", "1")],
                )
            # The key's (or the request's) user and channel: what they may see in Slack, they may see here.
            answer = ask(
                self.agent,
                question,
                thread,
                Asker(user=caller.user, channel=caller.channel),
                log,
                variant=variant,
            )
        if isinstance(answer, Failure):
            status = (
                "503 Service Unavailable"
                if answer.reason == "empty_kb"
                else "500 Internal Server Error"
            )
            raise ApiError(status, answer.message, answer.reason, kind="server_error")
        return answer
