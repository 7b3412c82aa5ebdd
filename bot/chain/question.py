"""A question on its way through one turn (bot/chain/agent.py): what the steps after the input
guard need to know about it, in one typed object instead of seven arguments."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.chain.answer import Turn, Usage
from bot.chain.prompt_variants import PromptText
from knowledge.access import Access, Asker


@dataclass(frozen=True)
class Question:
    text: str
    """As searched and answered: normalised, personal data redacted; a follow-up's standalone
    rewrite once it is rewritten."""
    language: str
    """The language of the question as asked, which the bot's own words are in."""
    thread: str | None
    """The thread it is asked in (its memory, its prompt variant); None for a one-off."""
    asker: Asker
    """Who asks and where: the channel's budget and totals."""
    access: Access
    """What the asker may see."""
    prompt: PromptText
    """The answer prompt the thread was given (PROMPT_VARIANTS)."""
    history: list[Turn] = field(default_factory=list)
    """The thread's earlier turns this asker may see."""
    context: str = ""
    """For a follow-up not rewritten: the thread's previous question, blended into the search."""
    searched: str = ""
    """A follow-up as searched (its rewrite, or the blend); "" for a standalone question."""
    rewrite_usage: Usage | None = None
    """What rewriting it cost, when a model was asked to."""

    @property
    def channel(self) -> str:
        return self.asker.channel

    def rewritten(self, standalone: str, usage: Usage | None) -> Question:
        """The follow-up as a standalone question; with "" (no rewrite), searched with its context."""
        if standalone:
            return replace(
                self, text=standalone, context="", searched=standalone, rewrite_usage=usage
            )
        searched = f"{self.text} (after: {self.context})" if self.context else ""
        return replace(self, searched=searched, rewrite_usage=usage)
