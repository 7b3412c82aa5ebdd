"""Generation through the `openai` client, against any OpenAI-compatible server."""

from __future__ import annotations

from dataclasses import dataclass

import openai

from bot.errors import LLMUnavailable
from knowledge.settings import Settings


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str


def build_client(settings: Settings) -> openai.OpenAI:
    """The one place an OpenAI client is built."""
    return openai.OpenAI(
        # Local servers (llama.cpp, vLLM, Ollama) need no key, but the client insists on one.
        api_key=settings.openai_api_key or "not-needed",
        base_url=settings.openai_base_url or None,
        timeout=settings.llm_timeout_s,
        max_retries=1,
    )


class ChatModel:
    def __init__(self, client: openai.OpenAI, model: str, max_tokens: int = 512) -> None:
        self._client = client
        self.model = model
        self._max_tokens = max_tokens

    def complete(self, messages: list[dict[str, str]]) -> Completion:
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, temperature=0, max_tokens=self._max_tokens
            )
        except openai.OpenAIError as error:
            raise LLMUnavailable(f"The model server failed ({type(error).__name__}: {error}).") from error
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model or self.model,
        )
