"""Ask a model, validate its reply, and re-ask with the validator's complaint: the one loop the
cascade's drafts (bot/chain/cascade.py), the tables' SQL (bot/chain/table_answers.py) and the
follow-up rewrite (bot/chain/follow_up.py) share. Every draft is paid for, and traced as one
model call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.chain.answer import Usage
from bot.chain.llm import Chat
from bot.chain.usage import cost_usd
from bot.errors import LLMUnavailable
from bot.ops.telemetry import Telemetry

T = TypeVar("T")
log = logging.getLogger(__name__)


class Rejected(Exception):
    """A reply the validator turned down; its message is the complaint. `reask` False: asking
    again would not help (the model says there is no answer), so the drafts stop there."""

    def __init__(self, complaint: str, reask: bool = True) -> None:
        super().__init__(complaint)
        self.reask = reask


@dataclass
class Drafts(Generic[T]):
    """What asking gave: the first valid reply's value, or why there is none."""

    usage: Usage
    """Every draft's tokens and cost."""
    value: T | None = None
    complaints: list[str] = field(default_factory=list)
    """One per draft rejected and re-asked, in order."""
    final: str = ""
    """The complaint about a reply that ended the drafts without a re-ask."""
    failure: str = ""
    """The model server's error, when a call failed (the drafts stop there)."""


def ask_until_valid(
    chat: Chat,
    messages: list[dict[str, str]],
    validate: Callable[[str, int], T],
    reask: Callable[[str], str],
    *,
    tries: int,
    purpose: str,
    telemetry: Telemetry,
    json_schema: dict | None = None,
    attributes: dict[str, object] | None = None,
) -> Drafts[T]:
    """Up to `tries` drafts: `validate(reply, draft number)` returns the value or raises
    Rejected; `reask(complaint)` is what the model is told before the next draft. `attributes`
    go on each model call's span."""
    messages = list(messages)
    drafts: Drafts[T] = Drafts(Usage(chat.tier.name))
    for draft in range(1, tries + 1):
        try:
            with telemetry.model_call(
                chat.tier, purpose, **{"kb.draft": draft, **(attributes or {})}
            ) as span:
                completion = chat.complete(messages, json_schema)
                cost = cost_usd(chat.tier, completion.prompt_tokens, completion.completion_tokens)
                telemetry.completed(span, chat.tier, completion, cost)
        except LLMUnavailable as error:
            # The upstream server's own words (which may echo a prompt, a key or an internal
            # host) go to the log; the notes, which the public API returns, name their kind only.
            log.warning("tier %s: %s", chat.tier.name, error)
            cause = error.__cause__
            drafts.failure = (
                f"the model server of tier {chat.tier.name} failed ({type(cause).__name__})"
                if cause is not None
                else str(error)
            )
            return drafts
        drafts.usage = drafts.usage + Usage(
            chat.tier.name, completion.prompt_tokens, completion.completion_tokens, cost
        )
        try:
            drafts.value = validate(completion.text, draft)
            return drafts
        except Rejected as rejected:
            if not rejected.reask:
                drafts.final = str(rejected)
                return drafts
            drafts.complaints.append(str(rejected))
            messages += [
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": reask(str(rejected))},
            ]
    return drafts
