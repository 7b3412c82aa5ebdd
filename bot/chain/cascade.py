"""The model cascade (FrugalGPT's): ask the cheapest tier first, take its answer when it passes
the output guards with enough confidence, else ask the next tier.

Each tier gets a prompt fitted to its own budget, a bounded number of re-asks with the
validators' feedback, and its own prices. The answer says which tier answered, what every
attempt cost, and why each lower tier was rejected. An answer that failed validation is
never returned: when every tier fails, the best passage is quoted instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.chain import progress
from bot.chain.answer import Answer, Rejection, Turn, Usage
from bot.chain.llm import Chat
from bot.chain.outcomes import extractive, grounded
from bot.chain.prompt import build_prompt
from bot.chain.prompt_variants import load_prompt
from bot.chain.reask import Rejected, ask_until_valid
from bot.ops.telemetry import Telemetry, clean
from knowledge.models import Passage

if TYPE_CHECKING:
    from guards.output import GuardResult, OutputGuard

NOT_FOUND = "the model found no answer in the passages"
REASK_ANSWER = (
    "Your reply was rejected: {} Reply again with one JSON object that follows the rules."
)


@dataclass
class Attempt:
    """What asking one tier gave: a validated answer, or the reason there is none."""

    usage: Usage
    answer: Answer | None = None
    reason: str = ""
    guard_failures: int = 0
    notes: list[str] = field(default_factory=list)


class Cascade:
    def __init__(
        self, chats: list[Chat], guard: OutputGuard, telemetry: Telemetry | None = None
    ) -> None:
        self.chats = chats
        self.guard = guard
        self.telemetry = telemetry or Telemetry()
        self.tier_prompts = {
            c.tier.name: load_prompt(c.tier.prompt).text for c in chats if c.tier.prompt
        }
        """Tiers with their own answer prompt (a small model needs plainer rules)."""

    @property
    def rewriter(self) -> Chat:
        """Who turns follow-ups into standalone questions: the cheapest remote tier, since a tiny
        local model garbles them; the local one if it is all there is."""
        return next((chat for chat in self.chats if not chat.tier.local), self.chats[0])

    @property
    def sql_writer(self) -> Chat:
        """Who writes SQL over tables: the local tier when there is one (Qwen2.5-Coder is a coder
        model, and free), else the cheapest remote tier."""
        return next((chat for chat in self.chats if chat.tier.local), self.chats[0])

    @property
    def has_free_tier(self) -> bool:
        return any(chat.tier.free for chat in self.chats)

    def answer(
        self,
        instructions: str,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        free_only: bool = False,
        language: str = "en",
    ) -> Answer:
        """`instructions`: the thread's answer prompt; `passages` are relevant ones, best first;
        `free_only` when the channel's budget is spent; `language` the question's."""
        chats = [c for c in self.chats if c.tier.free] if free_only else self.chats
        rejected: list[Rejection] = []
        notes: list[str] = []
        spent = Usage(
            "extractive"
        )  # every attempt is paid for, re-asks and rejected tiers included
        guard_failures = 0
        for position, chat in enumerate(chats):
            attempt = self._ask(
                chat,
                instructions,
                question,
                passages,
                history,
                last=position == len(chats) - 1,
                language=language,
            )
            notes += attempt.notes
            spent = spent + attempt.usage
            guard_failures += attempt.guard_failures
            if attempt.answer is not None:
                usage = replace(spent, tier=chat.tier.name, rejected=tuple(rejected))
                return replace(
                    attempt.answer, notes=notes, usage=usage, guard_failures=guard_failures
                )
            rejected.append(Rejection(chat.tier.name, attempt.reason))
            notes.append(f"tier {chat.tier.name} rejected: {attempt.reason}")
        usage = replace(spent, tier="extractive", rejected=tuple(rejected))
        return replace(
            extractive(passages[0], "fallback_note", language),
            notes=notes,
            usage=usage,
            guard_failures=guard_failures,
        )

    def _ask(
        self,
        chat: Chat,
        instructions: str,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        last: bool,
        language: str,
    ) -> Attempt:
        tier = chat.tier
        with self.telemetry.stage(f"tier {tier.name}", **{"kb.tier": tier.name}) as span:
            attempt = self._drafts(chat, instructions, question, passages, history, last, language)
            span.set_attributes(
                clean(
                    {
                        "kb.tier.accepted": attempt.answer is not None,
                        "kb.tier.rejected": attempt.reason,
                        "gen_ai.usage.input_tokens": attempt.usage.prompt_tokens,
                        "gen_ai.usage.output_tokens": attempt.usage.completion_tokens,
                    }
                )
            )
        return attempt

    def _drafts(
        self,
        chat: Chat,
        instructions: str,
        question: str,
        passages: list[Passage],
        history: list[Turn],
        last: bool,
        language: str,
    ) -> Attempt:
        """The tier's first answer, and its re-asks with the validators' feedback."""
        tier = chat.tier
        instructions = self.tier_prompts.get(tier.name, instructions)
        prompt = build_prompt(
            instructions,
            question,
            passages[: tier.max_passages],
            history,
            tier.prompt_budget_tokens,
        )
        shown = [p.chunk.text for p in prompt.passages]
        titles = [f"{p.chunk.label} ({p.chunk.source})" for p in prompt.passages]

        def validated(reply: str, draft: int) -> GuardResult:
            progress.step("check")
            with self.telemetry.stage(
                "validate", latency="validate", **{"kb.draft": draft}
            ) as span:
                result = self.guard.check(reply, shown, question, titles)
                span.set_attributes(
                    clean({"kb.guard.passed": result.passed, "kb.guard.problems": result.problems})
                )
            if not result.passed:
                raise Rejected("; ".join(result.problems))
            return result

        progress.step("write")
        drafts = ask_until_valid(
            chat,
            list(prompt.messages),
            validated,
            REASK_ANSWER.format,
            tries=max(tier.max_reasks, 0) + 1,
            purpose="answer",
            telemetry=self.telemetry,
            json_schema=self.guard.json_schema,
        )
        notes = [
            f"tier {tier.name} draft {n} rejected: {c}"
            for n, c in enumerate(drafts.complaints, start=1)
        ]
        attempt = Attempt(drafts.usage, guard_failures=len(drafts.complaints), notes=notes)
        if drafts.failure:
            attempt.notes.append(drafts.failure)
            attempt.reason = "the model server failed"
        elif drafts.value is None:
            attempt.reason = "failed the output guards: " + drafts.complaints[-1].split("; ")[0]
        else:
            attempt.reason = shortfall(drafts.value, tier.min_confidence, last)
            if not attempt.reason:
                attempt.answer = grounded(drafts.value, prompt.passages, language)
        return attempt


def shortfall(result: GuardResult, min_confidence: float, last: bool) -> str:
    """Why a validated answer is still not good enough to stop at its tier, or ""."""
    confidence = result.value.confidence
    if confidence == 0:
        # A cheaper model missing the answer is no proof that it is not there; the last tier's word is final.
        return "" if last else NOT_FOUND
    if confidence < min_confidence:
        return f"confidence {confidence:.2f} is below the tier's {min_confidence:.2f}"
    return ""
