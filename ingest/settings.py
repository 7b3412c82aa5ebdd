"""Ingestion's settings (read by bot.settings.load_settings with everyone else's).

The connectors' tokens live here, as secrets (never in sources.yaml, never logged)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from knowledge.settings import CommaList, EnvSettings, env


class IngestSettings(EnvSettings):
    sources: CommaList = env("KB_SOURCES", ())
    """What the admin `reindex` reads; empty means the paths the last `ingest` read."""
    sources_file: Path = env("KB_SOURCES_FILE", Path("sources.yaml"))
    """The sources `ingest sync` keeps in sync (a website, Confluence, Notion, Slack channels)."""
    sync_redis_url: str = env("REDIS_URL", "redis://127.0.0.1:6379/0")
    sync_redis_prefix: str = env("REDIS_PREFIX", "kb:")
    """Where sync state, status and the one-run-at-a-time lock live (shared with the bot's workers).
    Field names differ from bot.settings' (same variables): `Settings.replace` routes by name."""
    sync_max_delete_share: float = env("SYNC_MAX_DELETE_SHARE", 0.5, ge=0.0, le=1.0)
    """A full pass that would delete more than this share of a source's documents stops and asks for --force."""
    confluence_email: str = env("CONFLUENCE_EMAIL", "")
    confluence_api_token: SecretStr = env("CONFLUENCE_API_TOKEN", SecretStr(""))
    """An Atlassian API token of CONFLUENCE_EMAIL's account (id.atlassian.com > Security > API tokens)."""
    notion_token: SecretStr = env("NOTION_TOKEN", SecretStr(""))
    """An internal integration's secret; share the pages and databases to ingest with it."""
    notion_api_url: str = env("NOTION_API_URL", "https://api.notion.com")
    slack_sync_token: SecretStr = env("SLACK_BOT_TOKEN", SecretStr(""))
    """The bot token, with channels:history, groups:history, channels:read, groups:read."""
    slack_sync_api_url: str = env("SLACK_API_URL", "https://slack.com/api/")
