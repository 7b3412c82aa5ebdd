"""The input guard on everything that comes into a turn: the question, a follow-up's rewrite
(model output, searched and shown as the question) and the retrieved passages (documents are
untrusted too: a passage carrying instructions never reaches the answer)."""

from __future__ import annotations

from bot.deps import Deps
from bot.ops.telemetry import clean
from guards.input import InputVerdict
from knowledge.models import Passage


def checked(deps: Deps, text: str) -> InputVerdict:
    with deps.telemetry.stage("guard.input", latency="guard") as span:
        verdict = deps.input_guard.check(text)
        span.set_attributes(
            clean(
                {
                    "kb.guard.verdict": verdict.reason or "pass",
                    "kb.guard.detail": verdict.detail,
                    "kb.guard.redacted": sorted({f.kind for f in verdict.redacted}),
                    "kb.question": verdict.text,
                }
            )
        )
    if verdict.reason is not None:
        deps.telemetry.guard_block(verdict.reason)
    return verdict


def safe_passages(deps: Deps, retrieved: list[Passage]) -> list[Passage]:
    """The passages that carry no instructions; each one dropped is counted as a guard block."""
    with deps.telemetry.stage("screen"):
        passages = [p for p in retrieved if deps.input_guard.passage_is_safe(p.chunk.text)]
    for _ in range(len(retrieved) - len(passages)):
        deps.telemetry.guard_block("unsafe_passage")
    return passages
