"""The real clients one run of the bot needs, built once and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.llm import ChatModel, build_client
from bot.memory import ThreadMemory, connect
from guards.output import OutputGuard
from knowledge.embeddings import Embedder, configure_llama_index
from knowledge.retrieval import Retriever
from knowledge.settings import Settings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store


@dataclass
class Deps:
    settings: Settings
    store: Store
    retriever: Retriever
    redis: redis.Redis
    memory: ThreadMemory
    guard: OutputGuard
    chat: ChatModel | None
    """None in extractive mode (no OPENAI_API_KEY or OPENAI_BASE_URL)."""

    def close(self) -> None:
        self.store.close()
        self.redis.close()


def build_deps(settings: Settings, embedder: Embedder | None = None) -> Deps:
    """Check the cheap, fallible connections (Redis, Qdrant) before loading the model."""
    redis_client = connect(settings.redis_url)
    store = Store.open(settings)
    embedder = embedder or Embedder()
    configure_llama_index(embedder)
    chat = ChatModel(build_client(settings), settings.llm_model) if settings.llm_enabled else None
    return Deps(
        settings=settings,
        store=store,
        retriever=Retriever(store, embedder, SparseEncoder()),
        redis=redis_client,
        memory=ThreadMemory(redis_client, settings.redis_prefix, settings.memory_turns, settings.memory_ttl_s),
        guard=OutputGuard(),
        chat=chat,
    )
