"""Embeddings, the Qdrant store and retrieval. Imports nothing from `bot`, `guards` or `ingest`."""

from knowledge.errors import (
    EmptyKnowledgeBase,
    KnowledgeError,
    SettingsError,
    StoreLocked,
    StoreUnavailable,
)
from knowledge.models import Chunk, Passage
from knowledge.settings import KnowledgeSettings

__all__ = [
    "Chunk",
    "EmptyKnowledgeBase",
    "KnowledgeError",
    "KnowledgeSettings",
    "Passage",
    "SettingsError",
    "StoreLocked",
    "StoreUnavailable",
]
