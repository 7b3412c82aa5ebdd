"""Generation: one chat model per cascade tier, behind one `complete(messages)` call.

Remote tiers go through the `openai` client (any OpenAI-compatible server); a local tier
runs a GGUF file in-process with llama-cpp-python, an optional extra. Both are imported by the
chat that uses them: `openai` takes ~0.7 s to import, half a cold `bot ask` without a remote tier.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.chain.breaker import CircuitBreaker
from bot.chain.packaged_model import PACKAGED_MODELS, model_file
from bot.chain.tiers import Tier
from bot.errors import LLMUnavailable

LOCAL_CONTEXT_TOKENS = 2048
LOCAL_EXTRA = "CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install '.[local]' (python3 bot/bootstrap.py test does it)"
LOCAL_THREADS = 2
"""llama.cpp's threads; the machines this runs on have 2 cores."""
_loaded: dict[Path, tuple[object, threading.Lock]] = {}
_loading = threading.Lock()


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str


class Chat(Protocol):
    tier: Tier

    def complete(
        self, messages: list[dict[str, str]], json_schema: dict | None = None
    ) -> Completion:
        """`json_schema`: the shape the reply must have, where the model can be held to it."""
        ...


def build_chat(
    tier: Tier, breaker: CircuitBreaker | None = None, models_dir: Path = Path(".data/models")
) -> Chat:
    """The one place chat clients are built; `breaker` guards a remote endpoint; a packaged
    local model is joined from its packages into `models_dir` ($DATA_DIR/models)."""
    return LocalChat(tier, models_dir) if tier.local else RemoteChat(tier, breaker)


class RemoteChat:
    def __init__(self, tier: Tier, breaker: CircuitBreaker | None = None) -> None:
        self.tier = tier
        self.breaker = breaker or CircuitBreaker(None, "", tier.name, 0, 0)
        import openai  # ~0.7 s: only a remote tier loads it (see the module's docstring)

        self._client = openai.OpenAI(
            # Local servers (llama.cpp, vLLM, Ollama) need no key, but the client insists on one.
            api_key=tier.api_key or "not-needed",
            base_url=tier.base_url or None,
            timeout=tier.timeout_s,
            max_retries=tier.max_retries,
        )

    def complete(
        self, messages: list[dict[str, str]], json_schema: dict | None = None
    ) -> Completion:
        # The schema is not sent: not every OpenAI-compatible server supports structured
        # outputs, and strong models follow the prompt's format; the guards check it anyway.
        import openai  # loaded by __init__ already

        if not self.breaker.allow():
            raise LLMUnavailable(
                f"Tier {self.tier.name} skipped: {self.breaker.state().describe()}."
            )
        try:
            response = self._client.chat.completions.create(
                model=self.tier.model,
                messages=messages,
                temperature=0,
                max_tokens=self.tier.max_tokens,
            )
        except openai.OpenAIError as error:
            self.breaker.failed()
            raise LLMUnavailable(
                f"The model server of tier {self.tier.name} failed "
                f"({type(error).__name__}: {error})."
            ) from error
        self.breaker.succeeded()
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model or self.tier.model,
        )


class LocalChat:
    """A GGUF model in this process, loaded on first use and shared by every chat of the
    process on that file (a worker loads it once: ~0.3 s for the Qwen 0.5B). One call at a
    time, since a llama.cpp context is not thread-safe and Slack answers in threads."""

    def __init__(self, tier: Tier, models_dir: Path = Path(".data/models")) -> None:
        self.tier = tier
        self.path = gguf_path(tier.gguf, models_dir)

    def load(self) -> None:
        """Load the model now rather than at the first question (a worker, before it serves)."""
        loaded_model(self.path, self.tier.name)

    def complete(
        self, messages: list[dict[str, str]], json_schema: dict | None = None
    ) -> Completion:
        response_format = {
            "type": "json_object",
            **({"schema": json_schema} if json_schema else {}),
        }
        model, lock = loaded_model(self.path, self.tier.name)
        with lock:
            try:
                # Grammar-constrained, so a small model answers in the shape asked; the mild
                # repeat penalty stops the loops small models fall into at temperature 0.
                response = model.create_chat_completion(
                    messages=messages,
                    temperature=0,
                    max_tokens=self.tier.max_tokens,
                    response_format=response_format,
                    repeat_penalty=1.1,
                )
            except (ValueError, RuntimeError) as error:  # e.g. the prompt exceeds the context
                raise LLMUnavailable(
                    f"The local model of tier {self.tier.name} failed: {error}"
                ) from error
        usage = response.get("usage") or {}
        return Completion(
            text=response["choices"][0]["message"].get("content") or "",
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            model=self.tier.model,
        )

    def generate(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        """Free text (no JSON shape), e.g. a SQL query."""
        model, lock = loaded_model(self.path, self.tier.name)
        with lock:
            try:
                response = model.create_chat_completion(
                    messages=messages, temperature=0, max_tokens=max_tokens
                )
            except (ValueError, RuntimeError) as error:
                raise LLMUnavailable(
                    f"The local model of tier {self.tier.name} failed: {error}"
                ) from error
        return response["choices"][0]["message"].get("content") or ""


def loaded_model(path: Path, tier_name: str):
    """The process's one llama.cpp model on `path`, with the lock its calls take turns on."""
    with _loading:
        if path not in _loaded:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise LLMUnavailable(
                    f"Tier {tier_name} needs llama-cpp-python: {LOCAL_EXTRA}."
                ) from None
            # The GGUF's own chat template (ChatML for Qwen) formats the messages.
            try:
                model = Llama(
                    model_path=str(path),
                    n_ctx=LOCAL_CONTEXT_TOKENS,
                    n_threads=LOCAL_THREADS,
                    verbose=False,
                )
            except ValueError as error:  # llama.cpp could not read the file
                raise LLMUnavailable(
                    f"The local model of tier {tier_name} could not be loaded from {path}: {error}"
                ) from error
            if not _loaded:
                atexit.register(_close_models)
            _loaded[path] = (model, threading.Lock())
        return _loaded[path]


def _close_models() -> None:
    """Free the models while the interpreter is whole: left to `Llama.__del__` at shutdown,
    llama.cpp's free functions are already gone and every exit prints a TypeError."""
    with _loading:
        for model, lock in _loaded.values():
            with lock:
                model.close()
        _loaded.clear()


def gguf_path(name: str, models_dir: Path) -> Path:
    """A packaged model's checked file (joined into `models_dir` on first use), or a path."""
    if name in PACKAGED_MODELS:
        return model_file(PACKAGED_MODELS[name], models_dir)
    path = Path(name).expanduser()
    if not path.is_file():
        raise LLMUnavailable(
            f"The local model file {path} does not exist; fix `gguf` in the LLM_TIERS file "
            f"(or name a packaged model: {', '.join(PACKAGED_MODELS)})."
        )
    return path
