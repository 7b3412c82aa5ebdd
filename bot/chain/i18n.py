"""What the bot says, in the language of the question: one catalogue per language
(bot/chain/messages/en.toml, ko.toml) with the same keys, read once.

`text("ko", "answer.no_answer")` is the Korean refusal; a key a catalogue lacks falls back to
English, so a half-translated catalogue still answers. A new language is a new file and its
code in LANGUAGES (and, to be detected, in knowledge.language).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from knowledge.language import Language, language_of

CATALOGUES = Path(__file__).parent / "messages"
LANGUAGES = ("en", "ko")
DEFAULT: Language = "en"

__all__ = ["DEFAULT", "LANGUAGES", "Language", "catalogue", "language_of", "text", "texts"]


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    """The language's messages, flattened to dotted keys ("feedback.reason.wrong")."""
    data = tomllib.loads((CATALOGUES / f"{language}.toml").read_text(encoding="utf-8"))
    return _flatten(data)


def text(language: str, key: str, **values: object) -> str:
    messages = catalogue(language if language in LANGUAGES else DEFAULT)
    template = messages.get(key) or catalogue(DEFAULT)[key]
    return template.format(**values) if values else template


def texts(language: str, table: str) -> list[str]:
    """The messages of a table (`[slack.loading]`), in the catalogue's order."""
    messages = catalogue(language if language in LANGUAGES else DEFAULT)
    return [value for key, value in messages.items() if key.startswith(f"{table}.")] or texts(
        DEFAULT, table
    )


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
