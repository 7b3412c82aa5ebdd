"""The answer chain, in the order the code takes it: preprocess (normalise, language) -> input
guard (bot/chain/screening.py) -> who may see what, and the thread's earlier turns they may see
-> the answer cache, for a standalone question -> a follow-up's rewrite (bot/chain/follow_up.py)
-> retrieve, screen the passages, route to an FAQ row, the tables, the model cascade or a quote,
validate, add disclaimers (bot/chain/routing.py) -> reply -> remember (usage, the turn's record,
the thread's memory).

Every path ends in an `Answer`: a grounded answer, an extractive quote, or a refusal that
says why. An answer that failed validation is never returned. The question travels through
the turn as one `Question` (bot/chain/question.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from bot.chain.answer import Answer, Turn, Usage
from bot.chain.answer_cache import CacheHit, freeze, thaw
from bot.chain.degrade import Reads, skipped, start_turn, without_redis
from bot.chain.follow_up import standalone as standalone_question
from bot.chain.i18n import language_of
from bot.chain.i18n import text as message
from bot.chain.outcomes import verified_answer
from bot.chain.preprocess import follow_up_context, normalise
from bot.chain.question import Question
from bot.chain.routing import answer_question
from bot.chain.screening import checked
from bot.chain.turn_log import TurnRecord
from bot.deps import Deps
from bot.ops.telemetry import clean, turn_id_of
from guards.input import MAX_QUESTION_CHARS
from knowledge.access import EVERYONE, PUBLIC, Access, Asker

log = logging.getLogger(__name__)


class Agent:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def answer(
        self,
        question: str,
        thread_id: str | None = None,
        asker: Asker = PUBLIC,
        variant: str | None = None,
        reply: Callable[[Answer], object] | None = None,
    ) -> Answer:
        """`asker` is who asks and where (knowledge/access.py): it decides what may be quoted to
        them, and its channel (a Slack channel) gets the turn's budget and totals; `variant` names
        the answer prompt to use (else the thread's share of PROMPT_VARIANTS).

        `reply`: how the edge delivers the answer, called once, before the turn is written to
        Redis (usage, its record, the thread's memory), so the asker does not wait for that
        write. The write follows whether or not the reply went out; its failures are then logged
        only, as the reply cannot carry them. Without `reply`, the write comes first and the
        answer's notes say what it went without."""
        answer, remember = self._answered(question, thread_id, asker, variant)
        if reply is None:
            remember()
            return with_skipped(answer)
        answer = with_skipped(answer)
        try:
            reply(answer)
        finally:
            try:
                remember()
            except (
                Exception
            ):  # the reply is out: a second one (an error, or Slack's retry) must not follow
                log.exception("turn %s: answered, but writing it to Redis failed", answer.turn_id)
        return answer

    def _answered(
        self, question: str, thread_id: str | None, asker: Asker, variant: str | None
    ) -> tuple[Answer, Callable[[], None]]:
        """The answer, and the write that records it (in a `remember` span of the turn's trace)."""
        started = time.perf_counter()
        user, channel = asker.user, asker.channel
        telemetry = self.deps.telemetry
        start_turn()
        with telemetry.turn(**{"kb.thread": thread_id or "", "kb.channel": channel}) as span:
            # The turn's id is its trace's, so `bot trace TURN_ID` finds it; without traces, a random one.
            turn_id = turn_id_of(span) or uuid.uuid4().hex
            # Sticky per thread, so a conversation keeps one voice; a question without a thread is its own.
            prompt = (
                self.deps.variants.named(variant)
                if variant
                else self.deps.variants.pick(thread_id or turn_id)
            )
            with telemetry.stage("preprocess"):
                text = normalise(question)
                language = language_of(
                    text
                )  # every word the bot adds is in the question's language
            if not text:
                answer = Answer(
                    message(language, "answer.empty_question"),
                    "extractive",
                    refused=True,
                    reason="no_answer",
                    variant=prompt.name,
                    prompt_version=prompt.version,
                )
                telemetry.answered(span, answer)
                return answer, lambda: None
            verdict = checked(self.deps, text)
            if verdict.reason is not None:
                answer = Answer(
                    verdict.message
                    or message(
                        language,
                        f"refusal.{verdict.reason}",
                        length=len(text),
                        limit=MAX_QUESTION_CHARS,
                    ),
                    "extractive",
                    refused=True,
                    reason=verdict.reason,
                    notes=[f"input guard: {verdict.detail}"] if verdict.detail else [],
                )
            else:
                with telemetry.stage("access"):
                    # Who may see what, and the thread's earlier turns: independent, one round trip to Redis.
                    reads = Reads(self.deps.redis)
                    read_access = self.deps.access.read_access(asker, reads)
                    read_history = (
                        self.deps.memory.read_recent(thread_id, reads) if thread_id else lambda: []
                    )
                    reads.send()
                    access, history = read_access(), read_history()
                # A thread's earlier answers are read (by the rewrite and the model) only when this
                # asker may see what they cited: someone else may have asked them with other rights.
                history = [turn for turn in history if visible(turn, access)]
                # personal data redacted: nothing below sees it
                asked = Question(verdict.text, language, thread_id, asker, access, prompt, history)
                answer = self._cached_or_answered(asked)
            text = verdict.text
            answer = replace(
                answer,
                latency_ms=(time.perf_counter() - started) * 1000,
                turn_id=turn_id,
                variant=prompt.name,
                prompt_version=prompt.version,
                language=language,
            )
            telemetry.answered(span, answer)

        def remember() -> None:
            with telemetry.stage("remember", parent=span):
                self._remember(thread_id, text, answer, user, channel)

        return answer, remember

    def _remember(
        self, thread_id: str | None, question: str, answer: Answer, user: str, channel: str
    ) -> None:
        """Today's usage totals, the turn's record (every answer, without who asked: for feedback,
        `bot report` and evals) and the thread's memory, in one round trip to Redis. Not a MULTI/EXEC
        transaction: the three need no atomicity together, and one costs a reply per command more."""
        pipe = self.deps.redis.pipeline(transaction=False)
        self.deps.usage.record(channel, answer.usage or Usage(answer.mode), answer.variant, pipe)
        self.deps.turns.record(TurnRecord.of(answer, question, channel, thread_id or ""), pipe)
        parts: tuple[str, ...] = ("usage", "record")
        if thread_id:
            turn = Turn(
                question=question,
                answer=answer.text,
                source_ids=[p.id for p in answer.sources],
                audiences=[p.chunk.audience for p in answer.sources] + answer.inherited,
                mode=answer.mode,
                refused=answer.refused,
                id=answer.turn_id,
                cache_key=answer.cache_key,
                variant=answer.variant,
                prompt_version=answer.prompt_version,
                user=user,
            )
            self.deps.memory.remember(thread_id, turn, user, pipe)
            parts += ("memory",)
        without_redis(parts, pipe.execute, None)

    def _cached_or_answered(self, question: Question) -> Answer:
        """A standalone question may be answered from the cache; a follow-up depends on its thread."""
        cache, text, version = self.deps.cache, question.text, question.prompt.version
        standalone = not follow_up_context(text, question.history)
        if (
            standalone
            and self.deps.verified
            and (verified := self._verified(text, question.access)) is not None
        ):
            return verified
        if cache is not None and standalone:
            with self.deps.telemetry.stage("cache") as span:
                hit = without_redis(
                    "cache", lambda: cache.get(text, version, question.access), None
                )
                fresh = hit is not None and self._still_best(text, hit, question.access)
                span.set_attributes(
                    clean(
                        {
                            "kb.cache.result": hit.kind if fresh else "stale" if hit else "miss",
                            "kb.cache.similarity": hit.similarity if hit else None,
                        }
                    )
                )
            if fresh:
                self.deps.telemetry.cache_hit(hit.kind)
                return thaw(hit.answer, hit)
        searched = standalone_question(self.deps, question)
        answer = answer_question(self.deps, searched)
        if searched.rewrite_usage is not None:
            answer = replace(
                answer, usage=searched.rewrite_usage + (answer.usage or Usage(answer.mode))
            )
        # The thread's earlier turns were read too: what they cited restricts this answer as well.
        answer = replace(
            answer, inherited=[audience for turn in question.history for audience in turn.audiences]
        )
        # An answer from one table is cached (exact wording only) with its rows, citing the table's
        # passage, whose content hash retires it when the table changes; over several tables it is not.
        # Nor is one made in a thread that cited restricted sources: the cache knows only its own sources.
        cacheable = (
            answer.table is None or len(answer.table.tables) == 1
        ) and not answer.inherits_restricted
        if cache is not None and standalone and not answer.refused and cacheable:
            key = without_redis(
                "cache",
                lambda: cache.put(
                    text, self._cache_entry(answer), version, semantic=answer.table is None
                ),
                "",
            )
            answer = replace(answer, cache_key=key)
        return answer

    def _verified(self, question: str, access: Access) -> Answer | None:
        """A verified answer `access` may read, word for word (never cached; remembered with its audience)."""
        with self.deps.telemetry.stage("verified") as span:
            match = without_redis(
                "verified", lambda: self.deps.verified.match(question, access), None
            )
            span.set_attribute("kb.verified.id", match.entry.id if match else "")
        if match is not None:
            self.deps.telemetry.verified_hit(match.kind)
        return verified_answer(match, language_of(question)) if match is not None else None

    def _cache_entry(self, answer: Answer) -> dict:
        return {
            **freeze(answer),
            "index_version": self.deps.store.version(),
            "best": answer.best_passage,
        }

    def _still_best(self, question: str, hit: CacheHit, access: Access) -> bool:
        """A hit is reused only when this question's own best passage is the one the cached
        question had, or one the cached answer cites. Always checked for a semantic hit: two
        questions can be worded alike and still ask different things ("Who is likely to develop
        symptoms?" and "...severe symptoms?"). Checked for an exact hit once the index has
        changed since it was cached: a document added since may answer it better. (Changed or
        deleted sources the cache itself checks.) Also checked for an exact hit when the index
        holds restricted documents: this asker may see one that answers better than what an
        asker with other rights was given. Cheap: one ~1 ms Qdrant query."""
        if (
            hit.kind == "exact"
            and hit.answer.get("index_version") == self.deps.store.version()
            and set(self.deps.store.audiences()) <= {EVERYONE}
        ):
            return True
        best = self.deps.retriever.retrieve(question, 1, access=access)
        known = {source["id"] for source in hit.answer["sources"]} | {hit.answer.get("best", "")}
        return bool(best) and best[0].id in known


def with_skipped(answer: Answer) -> Answer:
    """The answer with notes on what this turn went without (bot/chain/degrade.py)."""
    return replace(answer, notes=[*answer.notes, *skipped()]) if skipped() else answer


def visible(turn: Turn, access: Access) -> bool:
    """Whether `access` may see every source a remembered turn cited."""
    return all(access.may_read(audience) for audience in turn.audiences)
