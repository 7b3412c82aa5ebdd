"""Settings as `bot.settings.load_settings` reads them from a given environment."""

from __future__ import annotations

import os
from unittest import mock

from bot.settings import Settings, load_settings


def settings_from(environ: dict[str, str], env_file: str | None = None) -> Settings:
    """The settings these variables give (on top of the test's isolated environment)."""
    with mock.patch.dict(os.environ, environ):
        return load_settings(env_file)
