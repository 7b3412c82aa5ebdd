"""An OpenAI-compatible chat completions server on localhost, scripted by the test.

Replies are taken from a queue the test fills (`enqueue`); with an empty queue the server
answers with `model(messages)`, by default like a careful model would: it quotes passage [1]
of the prompt and cites it.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.chain.prompt import count_tokens
from tests.fakes.http import RecordingServer


class FakeOpenAI(RecordingServer):
    def __init__(self) -> None:
        self.replies: deque[str | tuple[int, dict[str, Any]]] = deque()
        self.sent: list[dict[str, Any]] = []
        self.model: Callable[[list[dict[str, str]]], str] = quote_first_passage
        """How the server answers when nothing is queued (a test may give it a model of its own)."""
        super().__init__(self._reply)

    def enqueue(self, *replies: str | tuple[int, dict[str, Any]]) -> None:
        """Each reply is the assistant's text, or (status, body) for an HTTP error."""
        self.replies.extend(replies)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def prompts(self) -> list[list[dict[str, str]]]:
        return [body["messages"] for body in self.calls_to("/chat/completions")]

    def responses(self) -> list[dict[str, Any]]:
        """The successful completions sent, in order (their `usage` is what was billed)."""
        return list(self.sent)

    def _reply(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not path.endswith("/chat/completions"):
            return 404, {"error": {"message": f"no route {path}"}}
        reply = self.replies.popleft() if self.replies else self.model(body["messages"])
        if isinstance(reply, tuple):
            return reply
        # Billed like a real server: tokens of the messages (cl100k_base) and of the reply.
        prompt_tokens = sum(count_tokens(m["content"]) + 4 for m in body["messages"])
        completion_tokens = count_tokens(reply)
        response = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": reply},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        self.sent.append(response)
        return 200, response


def quote_first_passage(messages: list[dict[str, str]]) -> str:
    # After a re-ask the passages are further up: a careful model quotes them again.
    user = next(
        (
            m["content"]
            for m in reversed(messages)
            if m["role"] == "user" and "[1] " in m["content"]
        ),
        messages[-1]["content"],
    )
    match = re.search(r"^\[1\] .*\n(\".*\")$", user, re.MULTILINE)
    first = json.loads(match.group(1)) if match else ""
    return json.dumps({"answer": f"{first} [1]", "sources": [1], "confidence": 0.8})
