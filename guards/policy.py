"""The business rules file (guards/rules.toml, or GUARD_RULES): topics the bot refuses,
phrases and promises its answers must not contain, disclaimers some sources require."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from guards.errors import RulesError

DEFAULT_RULES = Path(__file__).parent / "rules.toml"


@dataclass(frozen=True)
class Refusal:
    topic: str
    message: str
    patterns: tuple[re.Pattern[str], ...]
    translations: dict[str, str] = field(default_factory=dict)
    """The message in other languages, from `message_ko = "..."` and the like."""

    def message_in(self, language: str) -> str:
        return self.translations.get(language, self.message)


@dataclass(frozen=True)
class Disclaimer:
    category: str
    text: str
    translations: dict[str, str] = field(default_factory=dict)
    """From `text_ko = "..."` and the like."""

    def text_in(self, language: str) -> str:
        return self.translations.get(language, self.text)


@dataclass(frozen=True)
class BusinessRules:
    refusals: tuple[Refusal, ...] = ()
    banned_phrases: tuple[str, ...] = ()
    forbidden_promises: tuple[re.Pattern[str], ...] = ()
    disclaimers: tuple[Disclaimer, ...] = ()
    fingerprint: str = ""
    """A hash of the file: answers made under other rules are not reused (the answer cache)."""

    @classmethod
    def load(cls, path: Path | None = None) -> BusinessRules:
        path = path or DEFAULT_RULES
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except OSError as error:
            raise RulesError(
                f"cannot read the business rules file {path}: {error.strerror}"
            ) from None
        except tomllib.TOMLDecodeError as error:
            raise RulesError(f"the business rules file {path} is not valid TOML: {error}") from None
        output = data.get("output", {})
        try:
            return cls(
                refusals=tuple(
                    Refusal(
                        r["topic"],
                        r["message"],
                        _compile(r.get("patterns", []), path),
                        _translations(r, "message_"),
                    )
                    for r in data.get("refuse", [])
                ),
                banned_phrases=tuple(p.lower() for p in output.get("banned_phrases", [])),
                forbidden_promises=_compile(output.get("forbidden_promises", []), path),
                disclaimers=tuple(
                    Disclaimer(d["category"], d["text"], _translations(d, "text_"))
                    for d in output.get("disclaimers", [])
                ),
                fingerprint=hashlib.sha256(text.encode()).hexdigest()[:12],
            )
        except KeyError as error:
            raise RulesError(
                f"the business rules file {path} misses the key {error} in an entry"
            ) from None

    def refusal_for(self, question: str) -> Refusal | None:
        """The first refused topic the question is about, if any."""
        return next((r for r in self.refusals if any(p.search(question) for p in r.patterns)), None)

    def output_problems(self, answer: str) -> list[str]:
        lowered = answer.lower()
        problems = [
            f"The answer contains the banned phrase {p!r}; leave it out."
            for p in self.banned_phrases
            if p in lowered
        ]
        problems += [
            f"The answer makes a promise the company does not make ({m.group(0)!r}); state only what "
            "the passages say."
            for p in self.forbidden_promises
            if (m := p.search(answer))
        ]
        return problems

    def disclaimers_for(self, categories: Iterable[str], language: str = "en") -> list[str]:
        wanted = {c.strip().lower() for c in categories if c}
        return [d.text_in(language) for d in self.disclaimers if d.category.lower() in wanted]


def _translations(entry: dict, prefix: str) -> dict[str, str]:
    return {
        key.removeprefix(prefix): value for key, value in entry.items() if key.startswith(prefix)
    }


def _compile(patterns: list[str], path: Path) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as error:
            raise RulesError(
                f"the business rules file {path} has a bad pattern {pattern!r}: {error}"
            ) from None
    return tuple(compiled)
