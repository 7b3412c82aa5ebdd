"""Asking the one service from an edge. Slack, the HTTP API and the OpenAI-compatible route
all ask through `ask`: the answer, or a `Failure` each edge words its own way (Slack: a reply in
the thread; HTTP: an error status), logged with an id the asker is shown and counted with the
answers, so kb_answers_total agrees with the replies sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.chain import i18n
from bot.chain.answer import Answer
from knowledge.access import PUBLIC, Asker
from knowledge.errors import EmptyKnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    reason: Literal["empty_kb", "error"]
    message: str
    """What the asker is told, in the language of the question."""
    error_id: str = ""
    """The id the log has the traceback under ("" for an empty knowledge base)."""


def ask(
    agent,
    question: str,
    thread: str | None,
    asker: Asker = PUBLIC,
    logger: logging.Logger = log,
    variant: str | None = None,
    reply: Callable[[Answer], object] | None = None,
) -> Answer | Failure:
    """`thread` keys the conversation's memory; each edge keeps its own threads apart. `asker`:
    who asks and where, which decides what they may be answered from (knowledge/access.py).
    `variant` pins the answer prompt (an OpenAI client's model); None leaves it to the split.
    `reply` delivers an answer before the turn is written (`Agent.answer`); a Failure it is not
    given, and an error it raises itself is the edge's to handle, not turned into a Failure
    (which the edge would deliver as a second reply)."""
    delivering = False

    def deliver(answer: Answer) -> None:
        nonlocal delivering
        delivering = True
        reply(answer)

    try:
        return agent.answer(
            question, thread, asker, variant=variant, reply=deliver if reply else None
        )
    except EmptyKnowledgeBase:
        if delivering:  # raised by the reply itself: not an empty knowledge base, and not to be replied to again
            raise
        agent.deps.telemetry.failed("empty_kb")
        return Failure("empty_kb", i18n.text(i18n.language_of(question), "slack.empty_kb"))
    except Exception:  # whatever broke, the asker is told, and the log says what with the same id
        if delivering:
            raise
        error_id = uuid.uuid4().hex[:8]
        logger.exception("answering failed (error id %s)", error_id)
        agent.deps.telemetry.failed("error")
        return Failure(
            "error",
            i18n.text(i18n.language_of(question), "slack.failed", error_id=error_id),
            error_id,
        )
