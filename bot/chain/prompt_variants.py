"""Versioned prompts and the A/B split between them.

Prompts are files in bot/chain/prompts/, one per version (`answer-v1.txt`, `answer-v2.txt`,
`rewrite-v1.txt`). A prompt's version id is its name and the start of its content's hash
(`answer-v1@3f2a9c1d`): an edit that forgets to rename the file still gets a new version, so
every record that carries it (turns, usage, traces, metrics, feedback, the answer cache's
scope) tells the two texts apart.

PROMPT_VARIANTS (`answer-v1:90,answer-v2:10`) splits traffic between answer prompts, sticky
per thread: a hash of the thread id picks, so every worker agrees and a conversation keeps
one voice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bot.errors import PromptError

PROMPTS_DIR = Path(__file__).with_name("prompts")
REWRITE = "rewrite-v1"
"""The prompt that turns a follow-up into a standalone question (not split: it shapes the
search, not the answer's voice)."""
SQL_PROMPT = "sql-v2"
"""The prompt that asks for one SQL query over the tables (bot/chain/table_answers.py)."""


@dataclass(frozen=True)
class PromptText:
    name: str
    """The file's name without `.txt`, e.g. `answer-v1`; what PROMPT_VARIANTS names."""
    text: str

    @cached_property
    def version(self) -> str:
        return f"{self.name}@{hashlib.sha256(self.text.encode()).hexdigest()[:8]}"


def available(directory: Path = PROMPTS_DIR) -> list[str]:
    return sorted(path.stem for path in directory.glob("*.txt"))


def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> PromptText:
    path = directory / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(
            f"There is no prompt {name!r} in {directory} (there are: {', '.join(available(directory))}); "
            "fix PROMPT_VARIANTS or add the file."
        ) from None
    return PromptText(name, text.rstrip("\n"))


class Variants:
    """The answer prompts in play, with their shares of the threads."""

    def __init__(self, weighted: Sequence[tuple[PromptText, int]], rewrite: PromptText) -> None:
        self.weighted = [(prompt, weight) for prompt, weight in weighted if weight > 0]
        if not self.weighted:
            raise PromptError(
                "PROMPT_VARIANTS gives no prompt a share above 0; e.g. PROMPT_VARIANTS=answer-v1:100."
            )
        self.rewrite = rewrite
        self._total = sum(weight for _, weight in self.weighted)

    @classmethod
    def load(cls, weights: Sequence[tuple[str, int]], directory: Path = PROMPTS_DIR) -> Variants:
        return cls(
            [(load_prompt(name, directory), weight) for name, weight in weights],
            load_prompt(REWRITE, directory),
        )

    def pick(self, key: str) -> PromptText:
        """The variant for a thread: the same key always gets the same prompt, in every process."""
        point = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % self._total
        for prompt, weight in self.weighted:
            if point < weight:
                return prompt
            point -= weight
        raise AssertionError("unreachable: point < total weight")

    def named(self, name: str) -> PromptText:
        """The variant in play called `name`."""
        for prompt, _ in self.weighted:
            if prompt.name == name:
                return prompt
        raise PromptError(
            f"{name!r} is not one of the answer prompts in play ({', '.join(self.names)})."
        )

    @property
    def names(self) -> list[str]:
        return [prompt.name for prompt, _ in self.weighted]


def prompt_named(spec: str) -> PromptText:
    """A prompt by name (`answer-v2`, from bot/chain/prompts/) or by path (`drafts/answer-v3.txt`), so
    a draft can be evaluated before it is added."""
    path = Path(spec)
    if path.suffix == ".txt" or len(path.parts) > 1:
        if not path.is_file():
            raise PromptError(
                f"There is no prompt file {spec}; give a prompt's name ({', '.join(available())}) "
                "or the path of a .txt file."
            )
        return load_prompt(path.stem, path.parent)
    return load_prompt(spec)
