"""The guards' settings (read by bot.settings.load_settings with everyone else's)."""

from __future__ import annotations

from pathlib import Path

from knowledge.settings import EnvSettings, env


class GuardSettings(EnvSettings):
    rules: Path | None = env("GUARD_RULES", None)
    """The business rules file; None is the one shipped in guards/rules.toml."""
