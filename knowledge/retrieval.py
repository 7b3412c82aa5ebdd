"""Question in, ranked passages out: one query embedding plus one hybrid Qdrant query."""

from __future__ import annotations

from knowledge.embeddings import Embedder
from knowledge.errors import EmptyKnowledgeBase
from knowledge.models import Passage
from knowledge.sparse import SparseEncoder
from knowledge.store import Store


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, sparse: SparseEncoder) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse

    def retrieve(self, query: str, limit: int) -> list[Passage]:
        passages = self.store.search(self.embedder.embed_query(query), self.sparse.encode_query(query), limit)
        if not passages and self.store.count() == 0:
            raise EmptyKnowledgeBase(f"The collection {self.store.alias!r} holds no documents.")
        return passages
