"""From a question to an answer over the knowledge base: retrieve, screen the passages, keep the
relevant ones, then the first path that applies - an FAQ row that matches the question as
asked, the tables (bot/chain/table_answers.py), the model cascade (bot/chain/cascade.py), or a
quote of the best passage when there is no model or no budget left - and the business rules'
disclaimers for what it cites."""

from __future__ import annotations

from dataclasses import replace

from bot.chain import progress
from bot.chain.answer import Answer
from bot.chain.budget import budget_spent
from bot.chain.freshness import with_review_dates
from bot.chain.outcomes import carrying, extractive, faq_match, refusal
from bot.chain.question import Question
from bot.chain.screening import safe_passages
from bot.chain.table_answers import tables_for
from bot.deps import Deps
from knowledge.language import language_of
from knowledge.models import Passage
from knowledge.settings import KnowledgeSettings


def answer_question(deps: Deps, question: Question) -> Answer:
    """The answer with its disclaimers; `best_passage` is the passage retrieval ranked first."""
    blended = bool(question.context)
    progress.step("search")
    with deps.telemetry.stage(
        "retrieve", latency="retrieve", **{"kb.retrieve.blended": blended}
    ) as span:
        retrieved = deps.retriever.retrieve(
            question.text,
            deps.settings.knowledge.top_k,
            context=question.context,
            access=question.access,
        )
        span.set_attributes(
            {
                "kb.passages.ids": [p.id for p in retrieved],
                "kb.passages.scores": [round(p.score, 4) for p in retrieved],
            }
        )
    progress.step("found", retrieved)
    answer = answer_from(deps, question, safe_passages(deps, retrieved))
    return replace(
        with_disclaimers(deps, answer, question.language),
        best_passage=retrieved[0].id if retrieved else "",
        searched=question.searched,
    )


def answer_from(deps: Deps, question: Question, passages: list[Passage]) -> Answer:
    knowledge, language = deps.settings.knowledge, question.language
    # Scores are cosine for English and lexical relevance for Korean (as the retriever judged
    # the words it searched for, which a follow-up's rewrite may have changed): each has its threshold.
    relevant = relevant_passages(knowledge, question.text, passages)
    if not relevant:
        return refusal(passages, language)
    faq = faq_match(passages, knowledge.faq_match)
    if faq is not None:
        return Answer(
            f"{faq.quote.strip()} [1]",
            "faq",
            sources=[faq],
            confidence=min(1.0, faq.question_score),
        )
    # Only a model call is paid for: without one, the budget is not even read.
    spent = deps.cascade is not None and budget_spent(deps, question.channel)
    cards = tables_for(relevant, knowledge.passage_margin)
    if cards and deps.table_answers is not None:
        # A spent budget leaves the tables to lookups in row passages, like having no model.
        cascade = None if spent else deps.cascade
        return deps.table_answers.answer(cascade, question, relevant, cards)
    cascade = deps.cascade
    if cascade is None:
        return extractive(relevant[0], "extractive_note", language)
    relevant = carrying(relevant, knowledge.passage_margin)
    prompt = question.prompt.text
    if spent:
        spent_note = f"channel budget of {deps.settings.channel_daily_budget_usd} USD spent"
        if not cascade.has_free_tier:
            return replace(extractive(relevant[0], "budget_note", language), notes=[spent_note])
        answer = cascade.answer(
            prompt, question.text, relevant, question.history, free_only=True, language=language
        )
        return replace(answer, notes=[f"{spent_note}: free tiers only", *answer.notes])
    return cascade.answer(prompt, question.text, relevant, question.history, language=language)


def relevant_passages(
    knowledge: KnowledgeSettings, question: str, passages: list[Passage]
) -> list[Passage]:
    """The passages that may answer `question`: above its language's threshold, or the tables'
    lower one for a table's passages (`bot eval tables` picks its tables through this too)."""
    asked_in = language_of(question)
    return [p for p in passages if knowledge.relevant(p, asked_in)]


def with_disclaimers(deps: Deps, answer: Answer, language: str) -> Answer:
    """The business rules' disclaimers for the categories of the sources cited; a note on any
    source past its review date."""
    if answer.refused:
        return answer
    categories = [p.chunk.metadata.get("category", "") for p in answer.sources]
    missing = [d for d in deps.rules.disclaimers_for(categories, language) if d not in answer.text]
    if missing:
        answer = replace(answer, text="\n\n".join([answer.text, *(f"_{d}_" for d in missing)]))
    return with_review_dates(answer)
