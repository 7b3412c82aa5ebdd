"""Build the model's prompt from the question, the thread and the passages, within a token budget.
The instructions themselves are versioned files in bot/chain/prompts/ (see bot/chain/prompt_variants.py).

Tokens are counted with tiktoken's cl100k_base through llama-index's tokenizer (llama-index-core,
kept for chunking, ships that encoding's data, so nothing is downloaded); for models with another
tokenizer it is an approximation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from bot.chain.answer import Turn
from knowledge.models import Passage

HISTORY_TURNS = 3
"""Earlier turns shown to the model: enough to resolve "and for contractors?", cheap in tokens."""


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, str]]
    passages: list[Passage]
    """The passages actually included, in the order numbered [1], [2], ..."""
    tokens: int


@lru_cache(maxsize=1)
def _tokenizer() -> Callable[[str], list]:
    # Imported on first use: llama-index costs ~2 s, which `bot --help` and the extractive path skip.
    from llama_index.core.utils import get_tokenizer

    return (
        get_tokenizer()
    )  # cl100k_base, from the data llama-index ships (it sets no variable for good)


def count_tokens(text: str) -> int:
    return len(_tokenizer()(text))


def build_prompt(
    instructions: str, question: str, passages: list[Passage], history: list[Turn], budget: int
) -> Prompt:
    """Include passages in rank order while they fit; the question and `instructions` (the
    answer prompt of the thread's variant) always fit."""
    head = _history_block(history[-HISTORY_TURNS:])
    tail = f"Question: {question}"
    used = count_tokens(instructions) + count_tokens(head) + count_tokens(tail) + 16
    included: list[Passage] = []
    blocks: list[str] = []
    for passage in passages:
        block = _passage_block(len(included) + 1, passage)
        cost = count_tokens(block)
        if included and used + cost > budget:
            break
        included.append(passage)
        blocks.append(block)
        used += cost
    user = "\n\n".join(part for part in (head, "Passages:\n" + "\n\n".join(blocks), tail) if part)
    messages = [{"role": "system", "content": instructions}, {"role": "user", "content": user}]
    return Prompt(messages, included, used)


def _passage_block(number: int, passage: Passage) -> str:
    chunk = passage.chunk
    return (
        f"[{number}] {chunk.label} ({chunk.source})\n{json.dumps(chunk.text, ensure_ascii=False)}"
    )


def _history_block(history: list[Turn]) -> str:
    """A compact summary of the thread: each question, and the gist of its answer."""
    if not history:
        return ""
    lines = [f"User: {t.question}\nAssistant: {gist(t.answer)}" for t in history]
    return "Conversation so far:\n" + "\n".join(lines)


GIST_CHARS = 200


def gist(answer: str) -> str:
    """An earlier answer's first sentence, without citations or notes: enough to resolve a
    follow-up, a fraction of the tokens of the whole answer."""
    text = re.sub(r"\s*\[\d+\]", "", answer.split("\n\n", 1)[0]).strip().strip("\u201c\u201d")
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first if len(first) <= GIST_CHARS else first[: GIST_CHARS - 1].rstrip() + "\u2026"


EXACT_ENCODINGS = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")
NEWER_OPENAI = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")


def encoding_note(model: str) -> str:
    """Which encoding counts this model's tokens, and whether that is exact."""
    name = model.lower()
    if name.startswith(EXACT_ENCODINGS) and not name.startswith(NEWER_OPENAI):
        return "cl100k_base (exact)"
    if name.startswith(NEWER_OPENAI):
        return "cl100k_base approximates o200k_base (not available offline)"
    return f"cl100k_base approximates {model}'s own tokenizer"


MAX_REWRITE_CHARS = 300


def build_rewrite(instructions: str, question: str, history: list[Turn]) -> list[dict[str, str]]:
    """Messages asking the model to turn a follow-up ("and for contractors?") into a standalone question."""
    return [
        {"role": "system", "content": instructions},
        {
            "role": "user",
            "content": f"{_history_block(history[-HISTORY_TURNS:])}\n\nLast message: {question}",
        },
    ]


def parse_rewrite(reply: str) -> str:
    """The rewritten question, or "" when the reply is not one plausible question."""
    text = reply.strip().strip('"').strip()
    if not text or "\n" in text or len(text) > MAX_REWRITE_CHARS or text.startswith(("{", "[")):
        return ""
    return text
