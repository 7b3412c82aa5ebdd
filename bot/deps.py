"""The real clients one run of the bot needs, built once and passed explicitly."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from bot.chain.answer_cache import AnswerCache, answer_scope
from bot.chain.askers import AccessPolicy, ChannelScopes, UserGroups, load_scopes, slack_members
from bot.chain.breaker import CircuitBreaker
from bot.chain.cascade import Cascade
from bot.chain.escalations import Escalations
from bot.chain.gate import Gate
from bot.chain.llm import LocalChat, build_chat
from bot.chain.prompt_variants import SQL_PROMPT, Variants, load_prompt
from bot.chain.table_answers import TableAnswers
from bot.chain.thread_memory import ThreadMemory, connect
from bot.chain.tiers import Tier
from bot.chain.turn_log import TurnLog
from bot.chain.usage import UsageLedger
from bot.chain.verified import VerifiedAnswers
from bot.errors import LLMUnavailable
from bot.ops.telemetry import Telemetry
from bot.ops.tracing import build_tracer_provider
from bot.settings import Settings
from guards.input import InputGuard
from guards.policy import BusinessRules
from knowledge.embeddings import MODEL_NAME, Embedder
from knowledge.retrieval import Retriever
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from knowledge.tables import TableStore

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    store: Store
    embedder: Embedder
    retriever: Retriever
    redis: redis.Redis
    memory: ThreadMemory
    turns: TurnLog
    gate: Gate
    rules: BusinessRules
    input_guard: InputGuard
    usage: UsageLedger
    variants: Variants
    """The answer prompts in play (PROMPT_VARIANTS) and the follow-up rewrite prompt."""
    access: AccessPolicy
    """Who asks -> what they may see (user groups, channel scopes)."""
    telemetry: Telemetry
    """Traces of every turn; metrics too when built for a serving edge (`build_deps(metrics=True)`)."""
    cache: AnswerCache | None
    """None when ANSWER_CACHE is off."""
    cascade: Cascade | None
    table_answers: TableAnswers | None = None
    verified: VerifiedAnswers | None = None
    """Verified answers, served before retrieval (bot/chain/verified.py)."""
    escalations: Escalations | None = None
    """"Ask an expert" and the review queue (bot/chain/escalations.py)."""
    """Answers from the tables in $DATA_DIR/tables.duckdb (bot/chain/table_answers.py)."""
    """The model tiers and the output guard that validates them; None in extractive mode (no
    LLM_TIERS, OPENAI_API_KEY or OPENAI_BASE_URL; importing guardrails costs ~7 s)."""

    def close(self) -> None:
        self.telemetry.close()  # exports the last spans, while Redis is still open
        self.store.close()
        self.redis.close()


def build_deps(settings: Settings, embedder: Embedder | None = None, metrics: bool = False) -> Deps:
    """Check the cheap, fallible connections (Redis, Qdrant) before loading the model. `metrics`
    for the serving edges, which expose them (prometheus-client is not even imported otherwise)."""
    redis_client = connect(settings.redis_url)
    store = Store.open(settings.knowledge)
    embedder = embedder or Embedder(settings.knowledge.embedding_threads)
    rules = BusinessRules.load(settings.guards.rules)
    variants = Variants.load(settings.prompt_variants)
    telemetry = Telemetry(
        build_tracer_provider(settings, redis_client), build_metrics(settings) if metrics else None
    )
    cascade = None
    if settings.llm_enabled:
        from guards.output import OutputGuard  # guardrails: ~7 s, only with a model to check

        chats = [
            build_chat(
                tier,
                breaker_for(tier, redis_client, settings.redis_prefix),
                settings.knowledge.data_dir / "models",
            )
            for tier in settings.tiers
        ]
        cascade = Cascade(chats, OutputGuard(rules, settings.guards.pii_phone_region), telemetry)
    verified = VerifiedAnswers(
        redis_client,
        settings.redis_prefix,
        embedder.embed_query,
        settings.verified_match,
        other_languages={"ko": settings.verified_match_ko},
    )
    return Deps(
        settings=settings,
        store=store,
        embedder=embedder,
        retriever=Retriever(store, embedder, SparseEncoder(), telemetry.stage),
        redis=redis_client,
        memory=ThreadMemory(
            redis_client, settings.redis_prefix, settings.memory_turns, settings.memory_ttl_s
        ),
        turns=TurnLog(redis_client, settings.redis_prefix),
        gate=Gate(redis_client, settings.redis_prefix, settings.rate_limit_per_minute),
        rules=rules,
        input_guard=InputGuard(
            rules,
            embedder.embed_questions,
            telemetry.timed("embed", embedder.embed_query),
            settings.guards.pii_phone_region,
            # Kept per model: the next process reads the attack styles' vectors, not embeds them.
            vectors_dir=settings.knowledge.data_dir / "vectors" / embedder.model_name,
        ),
        usage=UsageLedger(redis_client, settings.redis_prefix),
        variants=variants,
        access=AccessPolicy(
            store,
            usergroups_for(settings, redis_client),
            ChannelScopes(
                redis_client, settings.redis_prefix, load_scopes(settings.channel_scopes)
            ),
        ),
        telemetry=telemetry,
        cache=AnswerCache(
            redis_client,
            settings.redis_prefix,
            embedder.embed_query,
            settings.semantic_cache_match,
            store.content_hashes,
            answer_scope(rules.fingerprint, [t.model for t in settings.tiers], MODEL_NAME),
            other_languages={"ko": settings.semantic_cache_match_ko},
        )
        if settings.answer_cache
        else None,
        cascade=cascade,
        table_answers=TableAnswers(
            TableStore(settings.knowledge.tables_path), load_prompt(SQL_PROMPT).text, telemetry
        ),
        verified=verified,
        escalations=Escalations(redis_client, settings.redis_prefix, verified, settings.experts),
    )


def load_local_models(deps: Deps) -> None:
    """A serving worker's local models, loaded before it serves: readiness means the first
    answer does not wait for them (~0.4-0.9 s for the Qwen 0.5B from the page cache)."""
    for chat in deps.cascade.chats if deps.cascade else []:
        if isinstance(chat, LocalChat):
            try:
                chat.load()
            except LLMUnavailable as error:  # the cascade passes the tier over, as at any failure
                log.warning("%s; its questions go to the next tier", error)


def screen_ahead(deps: Deps) -> threading.Thread:
    """A serving worker's start: the serving collection's passages screened for instructions in
    the background, so that no turn waits ~1 ms for each passage it is the first to retrieve
    (what set the p95 of a turn without a model). The thread holds the GIL in turns with the first
    answers for a few seconds (about 1 ms a passage, SCREENED_KEPT at most)."""

    def screen() -> None:
        try:
            screened = deps.input_guard.screen_ahead(chunk.text for chunk in deps.store.chunks())
            log.info("screened %d passages ahead of the first questions", screened)
        except Exception:  # only a head start: each passage is screened when retrieved anyway
            log.exception("could not screen the passages ahead")

    thread = threading.Thread(target=screen, name="kb-screen-ahead", daemon=True)
    thread.start()
    return thread


def usergroups_for(settings: Settings, client: redis.Redis) -> UserGroups | None:
    """Slack user groups are resolved through the Web API: only with a bot token."""
    if not settings.slack_bot_token:
        return None
    web = build_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    return UserGroups(client, settings.redis_prefix, slack_members(web), settings.usergroup_ttl_s)


def build_web_client(token: str, api_url: str = "") -> WebClient:
    """The one place a Slack Web API client is built; SLACK_API_URL points it elsewhere."""
    from slack_sdk import WebClient  # only with a bot token: `bot ask` without one never loads it

    return WebClient(token=token, base_url=api_url or WebClient.BASE_URL)


def breaker_for(tier: Tier, client: redis.Redis, prefix: str) -> CircuitBreaker:
    return CircuitBreaker(client, prefix, tier.name, tier.breaker_failures, tier.breaker_cooldown_s)


def build_metrics(settings: Settings):
    from bot.ops.metrics import Metrics  # prometheus-client, only for the serving edges
    from ingest.sync.commands import sources_records

    return Metrics(
        settings.prometheus_multiproc_dir, synced=lambda: sources_records(settings.ingest)
    )
