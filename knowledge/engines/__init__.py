"""The Qdrant engines behind the Store, one module each, with one small interface (`base.Engine`):

- `EdgeEngine` (default): Qdrant Edge, in-process, one shard directory per collection under
  QDRANT_PATH.
- `ClientEngine`: qdrant-client against a Qdrant server or cluster when QDRANT_URL is set; its
  local mode runs the same calls, which the tests use to check that both engines rank alike.
"""

from __future__ import annotations

from knowledge.engines.base import DENSE, QUESTION, RRF_K, SPARSE, Engine, Hit, Vectors, dot
from knowledge.engines.client import ClientEngine
from knowledge.engines.edge import EdgeEngine
from knowledge.settings import KnowledgeSettings

__all__ = [
    "DENSE",
    "QUESTION",
    "RRF_K",
    "SPARSE",
    "ClientEngine",
    "EdgeEngine",
    "Engine",
    "Hit",
    "Vectors",
    "dot",
    "open_engine",
]


def open_engine(settings: KnowledgeSettings) -> Engine:
    """The one place an engine is built: a server when QDRANT_URL is set, else Qdrant Edge."""
    if settings.qdrant_url:
        return ClientEngine.connect(settings.qdrant_url, settings.qdrant_api_key)
    return EdgeEngine(settings.qdrant_path)
