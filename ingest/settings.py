"""Ingestion's settings (read by bot.settings.load_settings with everyone else's)."""

from __future__ import annotations

from knowledge.settings import CommaList, EnvSettings, env


class IngestSettings(EnvSettings):
    sources: CommaList = env("KB_SOURCES", ())
    """What the admin `reindex` reads; empty means the paths the last `ingest` read."""
