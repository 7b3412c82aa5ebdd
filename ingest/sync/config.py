"""`sources.yaml`: the sources `ingest sync` keeps in sync, validated with pydantic.

    sources:
      - name: handbook
        kind: website                # website | confluence | notion | slack
        where: https://intranet.example/handbook/
        schedule: 1h                 # how often; s, m, h, d
        audience: [everyone]         # who may read what the source does not restrict itself
        tags: [handbook]
        owner: U0123ABC

Tokens are never here: they come from the environment (ingest/settings.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import IngestError
from knowledge import access
from knowledge.access import AccessError

Kind = Literal["website", "confluence", "notion", "slack"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SECRET_KEYS = ("token", "api_token", "password", "secret", "key")
SOURCE_PATH = "source:"
"""What a synced source's documents carry as their path before its name (never a file's path)."""


class SourcesFileError(IngestError):
    """sources.yaml is missing or wrong; the message says where and what to write."""


def seconds(value: str | float) -> float:
    """`30m` -> 1800.0; a bare number is seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 90s, 30m, 6h or 1d")
    return float(match[1]) * _UNITS[match[2]]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Kind
    where: str | list[str]
    """website: a URL prefix or a sitemap.xml; confluence: the site (https://acme.atlassian.net/wiki);
    notion: `shared` (what is shared with the integration); slack: channel ids."""
    schedule: float = 3600.0
    full_every: float = 86400.0
    """Incremental runs in between; a full pass (which also finds deletions) at least this often."""
    audience: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owner: str = ""
    spaces: tuple[str, ...] = ()
    """confluence: the space keys to read."""
    readers: dict[str, str] = Field(default_factory=dict)
    """confluence: Atlassian account id or group name -> audience (user:U…, usergroup:S…); a restricted
    page with a reader not listed here is not ingested."""
    max_pages: int = 5000
    thread_window: float = 14 * 86400.0
    """slack: how far back an incremental run looks for threads with new replies."""

    @field_validator("schedule", "full_every", "thread_window", mode="before")
    @classmethod
    def _duration(cls, value):
        return seconds(value)

    @field_validator("audience", mode="before")
    @classmethod
    def _audience(cls, value):
        return access.audiences([value] if isinstance(value, str) else value or [])

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value):
        return access.tags([value] if isinstance(value, str) else value or [])

    @field_validator("readers")
    @classmethod
    def _readers(cls, value):
        access.audiences(value.values())
        return value

    @property
    def path(self) -> str:
        """What the source's documents carry as their path: groups them, and scopes can name it."""
        return f"{SOURCE_PATH}{self.name}"

    @property
    def locations(self) -> list[str]:
        return [self.where] if isinstance(self.where, str) else list(self.where)


def load_sources(path: Path) -> list[Source]:
    if not path.is_file():
        raise SourcesFileError(
            f"{path}: no such file; write one (see README, 'Sources kept in sync') "
            "or set KB_SOURCES_FILE"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SourcesFileError(f"{path}: not valid YAML: {error}") from None
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SourcesFileError(f"{path}: expected a list under `sources:`")
    sources = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, dict) and (
            secret := next((k for k in entry if k.lower() in SECRET_KEYS), None)
        ):
            raise SourcesFileError(
                f"{path}: source {number} has `{secret}`; tokens go in the environment "
                "(CONFLUENCE_API_TOKEN, NOTION_TOKEN, SLACK_BOT_TOKEN), never in this file"
            )
        try:
            sources.append(Source.model_validate(entry))
        except (ValidationError, AccessError) as error:
            raise SourcesFileError(f"{path}: source {number}: {_said(error)}") from None
    names = [s.name for s in sources]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise SourcesFileError(
            f"{path}: source names must be unique; {', '.join(dupes)} appears twice"
        )
    return sources


def _said(error: Exception) -> str:
    if not isinstance(error, ValidationError):
        return str(error)
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg'].removeprefix('Value error, ')}"
        for e in error.errors(include_url=False)
    )
