"""OpenAI's chat shapes around the one service: a chat request becomes a question (its last user
message) in a thread (its conversation), and the answer becomes a chat completion or a stream of
chunks, built from the openai package's own types so that its client reads them as OpenAI's.

The earlier messages are not the history the model is shown: a client can write any "assistant"
message, and what users typed before was never redacted. The history is what the bot itself
remembered of the conversation, found by a hash of how it began (bot/web/api.py keys it by API key).
The answer is streamed once it is made: the output guards read the whole answer before any of
it is shown, so there are no tokens to forward as the model writes them. Until then the stream
carries the chain's steps as comments (`: Searching the handbook`), which OpenAI's clients skip.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import Literal

from openai.types import CompletionUsage, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel, ConfigDict, Field

from bot.chain import progress
from bot.chain.answer import Answer
from bot.chain.prompt_variants import Variants
from bot.web.stepped import Done

CHUNK_WORDS = 8
"""Words per streamed chunk: small enough to look like a stream, few enough events to be cheap."""


class _Request(BaseModel):
    # Clients send fields we do not use (temperature, max_tokens, tools...): they are ignored.
    model_config = ConfigDict(extra="allow")


class TextPart(_Request):
    type: str
    text: str = ""


class Message(_Request):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(_Request):
    include_usage: bool = False


class ChatRequest(_Request):
    model: str
    """One of GET /v1/models: the answer prompt the question is answered with."""
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, max_length=200)
    """OpenAI's end-user id: who asks, for a key bound to no user."""
    thread: str | None = Field(default=None, max_length=200)
    """Ours (the openai client's `extra_body`): the thread to remember the conversation under."""

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def question_of(request: ChatRequest) -> str | None:
    """The last message, if it is the user's (else None: there is no question to answer)."""
    last = request.messages[-1]
    return last.text if last.role == "user" and last.text.strip() else None


def conversation_id(request: ChatRequest) -> str:
    """The same for every request of one conversation: a hash of who asks and how it began (its
    system messages and first question). Conversations begun alike by the same asker share it."""
    system = [m.text for m in request.messages if m.role in ("system", "developer")]
    first = next(m.text for m in request.messages if m.role == "user")
    opening = json.dumps([request.user or "", system, first], ensure_ascii=False)
    return hashlib.sha256(opening.encode()).hexdigest()[:24]


def model_ids(variants: Variants) -> list[str]:
    return variants.names


def models(variants: Variants) -> dict:
    """One model per answer prompt in play (PROMPT_VARIANTS)."""
    data = [
        Model(id=name, object="model", created=0, owned_by="kb-assistant").model_dump()
        for name in variants.names
    ]
    return {"object": "list", "data": data}


def usage_of(answer: Answer) -> CompletionUsage:
    """The model tokens the answer took (0 for the FAQ path, the cache and quotes) and, beyond
    OpenAI's fields, what it cost."""
    usage = answer.usage
    prompt, completion = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
    return CompletionUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost_usd=usage.cost_usd if usage else 0.0,
    )


def completion_id(answer: Answer) -> str:
    """The turn's id inside OpenAI's form: `bot trace` and feedback find the answer by it."""
    return f"chatcmpl-{answer.turn_id}"


def completion(answer: Answer, model: str) -> dict:
    return ChatCompletion(
        id=completion_id(answer),
        object="chat.completion",
        created=int(time.time()),
        model=model,
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": answer.as_text()},
            }
        ],
        usage=usage_of(answer),
    ).model_dump(mode="json", exclude_none=True)


def stream(answer: Answer, model: str, include_usage: bool) -> Iterator[str]:
    """Server-sent events as OpenAI sends them: the role, the content in pieces, the finish
    reason, the usage when asked for (`stream_options.include_usage`), then `[DONE]`."""
    created, words = int(time.time()), re.findall(r"\S+\s*", answer.as_text())

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        body = ChatCompletionChunk(
            id=completion_id(answer),
            object="chat.completion.chunk",
            created=created,
            model=model,
            choices=choices,
            **extra,
        )
        return f"data: {body.model_dump_json(exclude_none=True)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for start in range(0, len(words), CHUNK_WORDS):
        yield chunk({"content": "".join(words[start : start + CHUNK_WORDS])})
    yield chunk({}, "stop")
    if include_usage:
        yield chunk(None, usage=usage_of(answer))
    yield "data: [DONE]\n\n"


def stepped_stream(
    first, events: Iterator, model: str, include_usage: bool, language: str
) -> Iterator[str]:
    """The chain's steps as comments while the answer is made, then `stream`; a failure after the
    stream began comes as OpenAI's error event (the status is already sent), then `[DONE]`."""
    event = first
    while not isinstance(event, Done):
        yield f": {progress.title(event, language)}\n\n"
        event = next(events)
    if event.answer is not None:
        yield from stream(event.answer, model, include_usage)
        return
    error = event.error
    body = (
        error.body()
        if hasattr(error, "body")
        else {"error": {"message": "answering failed", "type": "server_error"}}
    )
    yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
