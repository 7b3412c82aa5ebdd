"""The real clients one run of the bot needs, built once and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from bot.llm import ChatModel, build_client
from bot.cache import AnswerCache
from bot.gate import Gate
from bot.memory import ThreadMemory, connect
from bot.turns import TurnLog
from bot.usage import UsageLedger
from guards.input import InputGuard
from guards.policy import BusinessRules
from knowledge.embeddings import Embedder, configure_llama_index
from knowledge.retrieval import Retriever
from knowledge.settings import Settings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store

if TYPE_CHECKING:
    from guards.output import OutputGuard


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
    cache: AnswerCache | None
    """None when ANSWER_CACHE is off."""
    chat: ChatModel | None
    """None in extractive mode (no OPENAI_API_KEY or OPENAI_BASE_URL)."""
    guard: OutputGuard | None
    """Validates the model's output; None when there is no model (importing guardrails costs ~7 s)."""

    def close(self) -> None:
        self.store.close()
        self.redis.close()


def build_deps(settings: Settings, embedder: Embedder | None = None) -> Deps:
    """Check the cheap, fallible connections (Redis, Qdrant) before loading the model."""
    redis_client = connect(settings.redis_url)
    store = Store.open(settings)
    embedder = embedder or Embedder()
    configure_llama_index(embedder)
    rules = BusinessRules.load(settings.guard_rules)
    chat = guard = None
    if settings.llm_enabled:
        from guards.output import OutputGuard

        chat, guard = ChatModel(build_client(settings), settings.llm_model), OutputGuard(rules)
    return Deps(
        settings=settings,
        store=store,
        embedder=embedder,
        retriever=Retriever(store, embedder, SparseEncoder()),
        redis=redis_client,
        memory=ThreadMemory(redis_client, settings.redis_prefix, settings.memory_turns, settings.memory_ttl_s),
        turns=TurnLog(redis_client, settings.redis_prefix),
        gate=Gate(redis_client, settings.redis_prefix, settings.rate_limit_per_minute),
        rules=rules,
        input_guard=InputGuard(rules, embedder.embed_documents, embedder.embed_query),
        usage=UsageLedger(redis_client, settings.redis_prefix),
        cache=AnswerCache(redis_client, settings.redis_prefix, embedder.embed_query, settings.semantic_cache_match,
                          store.version) if settings.answer_cache else None,
        chat=chat,
        guard=guard,
    )
