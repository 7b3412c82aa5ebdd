"""What the chain is doing, told as it happens: the steps an edge may show while a question is
answered (Slack streams them as task updates). A step carries no answer text: nothing a guard
has not passed ever leaves the chain through here.

The chain calls `step(...)`; an edge listens with `with reporting(listener): ...` around its
call. A context variable, not a parameter, so the chain's signatures stay as they are; without
a listener a step costs one lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

from bot.chain.i18n import text
from knowledge.models import Passage

log = logging.getLogger(__name__)

StepKind = Literal["search", "found", "write", "check"]
"""In the order a model answer takes them; an extractive or FAQ answer stops after `found`."""


@dataclass(frozen=True)
class Step:
    kind: StepKind
    passages: Sequence[Passage] = field(default_factory=tuple)
    """For `found`: the passages the search returned, best first."""


Listener = Callable[[Step], object]
_listener: ContextVar[Listener | None] = ContextVar("kb_progress", default=None)


def step(kind: StepKind, passages: Sequence[Passage] = ()) -> None:
    """Tell the listener, if any. A listener that fails is logged: showing progress must never
    cost the answer."""
    listener = _listener.get()
    if listener is None:
        return
    try:
        listener(Step(kind, tuple(passages)))
    except Exception:
        log.exception("a progress listener failed on step %s", kind)


@contextmanager
def reporting(listener: Listener) -> Iterator[None]:
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def title(step: Step, language: str) -> str:
    """What a step is called where it is shown ("Found 3 passages: Travel policy, ..."), in the
    question's language (bot/chain/messages)."""
    if step.kind != "found":
        return text(language, f"step.{step.kind}")
    if not step.passages:
        return text(language, "step.found_none")
    labels = list(dict.fromkeys(p.chunk.label for p in step.passages))
    titles = ", ".join(labels[:MAX_TITLES]) + (", ..." if len(labels) > MAX_TITLES else "")
    return text(
        language,
        "step.found_one" if len(step.passages) == 1 else "step.found",
        count=len(step.passages),
        titles=titles,
    )


MAX_TITLES = 3
"""Passage titles a `found` step names; its links (where shown) follow."""
