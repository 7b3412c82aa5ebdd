"""The guards' settings (read by bot.settings.load_settings with everyone else's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator

from guards.phones import DEFAULT_REGION
from knowledge.settings import EnvSettings, env


def _region(raw: str) -> str:
    region = raw.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            "not a region phonenumbers knows; use a two-letter country code such as US, GB, DE or KR"
        )
    return region


class GuardSettings(EnvSettings):
    rules: Path | None = env("GUARD_RULES", None)
    """The business rules file; None is the one shipped in guards/rules.toml."""
    pii_phone_region: Annotated[str, AfterValidator(_region)] = env(
        "PII_PHONE_REGION", DEFAULT_REGION
    )
    """Where a phone number written without a country code is read as dialled from (guards/phones.py)."""
