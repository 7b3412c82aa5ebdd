"""A follow-up rewritten into a standalone question by a model, so the search finds what the
thread is about; when that fails or is not allowed, the search blends in the thread's previous
question instead (bot/chain/preprocess.py)."""

from __future__ import annotations

from dataclasses import replace

from bot.chain.budget import budget_spent
from bot.chain.preprocess import follow_up_context
from bot.chain.prompt import build_rewrite, parse_rewrite
from bot.chain.question import Question
from bot.chain.reask import Rejected, ask_until_valid
from bot.chain.screening import checked
from bot.deps import Deps


def standalone(deps: Deps, question: Question) -> Question:
    """`question` as it is searched: rewritten when it is a follow-up and a model may be asked
    (a rewrite is a paid call: not once the channel's budget is spent), else blended."""
    context = follow_up_context(question.text, question.history)
    if not context:
        return question
    question = replace(question, context=context)
    if deps.cascade is None or budget_spent(deps, question.channel):
        return question.rewritten("", None)
    chat, instructions = deps.cascade.rewriter, deps.variants.rewrite

    def guarded(reply: str, _draft: int) -> str:
        # The rewrite is model output, searched and shown as the question: it passes the same
        # guard as anything a user types. A rewrite the guard stops is dropped (the search blends).
        rewrite = parse_rewrite(reply)
        verdict = checked(deps, rewrite) if rewrite else None
        if verdict is None or verdict.reason is not None:
            raise Rejected("no usable rewrite", reask=False)
        return verdict.text

    drafts = ask_until_valid(
        chat,
        build_rewrite(instructions.text, question.text, question.history),
        guarded,
        str,
        tries=1,
        purpose="rewrite",
        telemetry=deps.telemetry,
        attributes={"kb.prompt.version": instructions.version},
    )
    usage = None if drafts.failure else drafts.usage
    return question.rewritten(drafts.value or "", usage)
