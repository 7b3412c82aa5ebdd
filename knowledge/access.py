"""Who may see what. A document carries an audience (who may read it) and tags; a channel
may be scoped to some tags or source folders. Retrieval turns an `Access` into one Qdrant
filter on indexed payload fields, so a passage the asker may not see is never even a
candidate; `Access.allows` says the same in Python for what was stored outside Qdrant
(cached answers, thread memory).

Audience values: `everyone` (the default), `channel:C…`, `user:U…`, `usergroup:S…`. A
document lists one or more; an asker may read it when any of them is theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

EVERYONE = "everyone"
AUDIENCE = "audience"
TAGS = "tags"
FOLDERS = "folders"
"""Payload fields the filter reads; each has a keyword index."""
INDEXED_FIELDS = (AUDIENCE, TAGS, FOLDERS)
_AUDIENCE = re.compile(r"^(everyone|(channel|user|usergroup):[A-Za-z0-9_.-]+)$")
_TAG = re.compile(r"^[\w.-]+$")


class AccessError(ValueError):
    """A malformed audience, tag or scope; the message says what to write instead."""


def audiences(values: Iterable[Any]) -> tuple[str, ...]:
    """Audience values, checked and de-duplicated in order (a comma-separated string is several)."""
    found = [part.strip() for value in values for part in str(value).split(",") if part.strip()]
    bad = [value for value in found if not _AUDIENCE.match(value)]
    if bad:
        raise AccessError(
            f"audience {bad[0]!r} is not one of everyone, channel:C…, user:U…, usergroup:S… "
            "(Slack ids, e.g. channel:C0123ABC)"
        )
    return tuple(dict.fromkeys(found))


def tags(values: Iterable[Any]) -> tuple[str, ...]:
    """Tags, lower-cased and de-duplicated in order (a comma-separated string is several)."""
    found = [
        part.strip().lower().lstrip("#")
        for value in values
        for part in str(value).split(",")
        if part.strip()
    ]
    bad = [tag for tag in found if not _TAG.match(tag)]
    if bad:
        raise AccessError(f"tag {bad[0]!r} may hold letters, digits, '_', '-' and '.' only")
    return tuple(dict.fromkeys(found))


def folders(*paths: str) -> list[str]:
    """Every folder a document lives under, by each of its paths (the resolved file and the
    source as shown), so that a scope's path prefix is a plain keyword match in Qdrant."""
    found: dict[str, None] = {}
    for path in paths:
        if path and "://" not in path:
            pure = PurePosixPath(path)
            found.update(
                dict.fromkeys(
                    p.as_posix() for p in [pure, *pure.parents] if p.as_posix() not in (".", "/")
                )
            )
    return list(found)


def normal_prefix(prefix: str) -> str:
    return prefix.strip().rstrip("/")


@dataclass(frozen=True)
class Scope:
    """The part of the knowledge base a channel answers from: documents with any of `tags` or
    under any of `prefixes` (source folders). Empty: the whole knowledge base."""

    tags: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tags or self.prefixes)

    def clause(self) -> dict[str, list[str]]:
        return {
            key: list(values)
            for key, values in ((TAGS, self.tags), (FOLDERS, self.prefixes))
            if values
        }

    def describe(self) -> str:
        parts = [*(f"#{t}" for t in self.tags), *(f"{p}/" for p in self.prefixes)]
        return ", ".join(parts) or "the whole knowledge base"

    @classmethod
    def parse(cls, words: Iterable[str]) -> Scope:
        """`hr policies handbook/hr/`: a word with a `/` is a source folder, any other a tag."""
        words = [w for w in words if w.strip()]
        prefixes = tuple(dict.fromkeys(normal_prefix(w) for w in words if "/" in w))
        return cls(tags([w for w in words if "/" not in w]), prefixes)

    def as_dict(self) -> dict[str, list[str]]:
        return {"tags": list(self.tags), "prefixes": list(self.prefixes)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        return cls(
            tags(data.get("tags", [])), tuple(normal_prefix(p) for p in data.get("prefixes", []))
        )


@dataclass(frozen=True)
class Asker:
    """Who is asking, as the edge knows it. In a channel: the channel and the user; in a direct
    message (or the Assistant view): the user only, so a document restricted to a channel is
    answered in that channel, not in the same user's DM. `channel` is still where the question
    was asked (for its budget and totals)."""

    user: str = ""
    channel: str = ""
    direct: bool = False
    """A DM: the channel grants nothing."""
    usergroups: frozenset[str] = frozenset()
    """The Slack user groups the user is in (the service resolves them)."""
    everything: bool = False
    """Sees every audience (`--all` on the admin's command line); a channel scope still applies."""

    def audiences(self) -> frozenset[str] | None:
        """The audience values this asker holds; None for every one."""
        if self.everything:
            return None
        held = {EVERYONE}
        if self.user:
            held.add(f"user:{self.user}")
        if self.channel and not self.direct:
            held.add(f"channel:{self.channel}")
        held.update(f"usergroup:{group}" for group in self.usergroups)
        return frozenset(held)


PUBLIC = Asker()
"""Nobody in particular: sees `everyone` documents only."""
ADMIN = Asker(everything=True)


@dataclass(frozen=True)
class Access:
    """What one question may be answered from: the audiences the asker holds (None: all) and
    the channel's scope. One filter, the same for every query of a turn."""

    audiences: frozenset[str] | None = frozenset({EVERYONE})
    scope: Scope = field(default_factory=Scope)

    @classmethod
    def of(cls, asker: Asker, scope: Scope = Scope()) -> Access:
        return cls(asker.audiences(), scope)

    def clauses(self) -> list[dict[str, list[str]]]:
        """All clauses must hold; a clause holds when any of its fields has any of its values."""
        clauses = [{AUDIENCE: sorted(self.audiences)}] if self.audiences is not None else []
        return clauses + ([self.scope.clause()] if self.scope else [])

    def may_read(self, audience: Iterable[str]) -> bool:
        """Whether the asker holds one of `audience` (the scope aside: what a channel answers
        from is not a secrecy boundary)."""
        return self.audiences is None or bool(set(audience) & self.audiences)

    def allows(self, payload: Mapping[str, Any]) -> bool:
        """The filter's judgement of one stored payload, for copies kept outside Qdrant."""
        return all(
            any(set(as_list(payload.get(key))) & set(values) for key, values in clause.items())
            for clause in self.clauses()
        )


ALL = Access(None)
"""Every document (admin tools measuring the whole index)."""


def as_list(value: Any) -> list:
    """A label value as a list, however it was written: nothing (None or "") is none, one value is one."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
