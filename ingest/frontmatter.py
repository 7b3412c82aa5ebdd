"""What a document says about itself: YAML front matter (Markdown), and the access labels
(`audience`, `tags`) that front matter, a CSV row or `ingest --audience/--tag` give it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import UnreadableSource
from knowledge import access
from knowledge.access import AccessError

LABEL_KEYS = ("audience", "tags")


@dataclass(frozen=True)
class Labels:
    """Who may read a document and what it is about. An empty audience is "not said here":
    a path's default, else everyone."""

    audience: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.audience or self.tags)

    def as_dict(self) -> dict[str, list[str]]:
        return {"audience": list(self.audience), "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, data: dict) -> Labels:
        return cls(tuple(data.get("audience", [])), tuple(data.get("tags", [])))

    @classmethod
    def given(cls, audience: list[str] | None, tags: list[str] | None) -> Labels:
        """From the command line; a bad value raises AccessError with what to write instead."""
        return cls(access.audiences(audience or []), access.tags(tags or []))


class PathLabels:
    """The labels given per folder or file (resolved path): those recorded by earlier ingests,
    overridden by this run's for the paths it was given. The innermost path holding a file wins."""

    def __init__(self, recorded: dict[str, dict], given: Labels, paths: list[Path]) -> None:
        self.by_path = {path: Labels.from_dict(labels) for path, labels in recorded.items()}
        if given:
            self.by_path.update({p.resolve().as_posix(): given for p in paths})

    def of(self, file: Path) -> Labels:
        path = file.as_posix()
        roots = [root for root in self.by_path if path == root or path.startswith(root + "/")]
        return self.by_path[max(roots, key=len)] if roots else Labels()

    def as_dict(self) -> dict[str, dict]:
        return {path: labels.as_dict() for path, labels in self.by_path.items()}


def take_labels(values: dict[str, Any]) -> Labels:
    """Remove and check the `audience` and `tags` entries (any case) of front matter or a CSV row."""
    found = {
        key.strip().lower(): values.pop(key)
        for key in list(values)
        if key.strip().lower() in LABEL_KEYS
    }
    try:
        return Labels(
            access.audiences(access.as_list(found.get("audience"))),
            access.tags(access.as_list(found.get("tags"))),
        )
    except AccessError as error:
        raise UnreadableSource(str(error)) from None


def labelled(document, default: Labels):
    """`document` with the path's labels where it says nothing itself: its own audience wins
    (it is the more specific), tags add up."""
    return replace(
        document,
        audience=document.audience or default.audience,
        tags=tuple(dict.fromkeys([*document.tags, *default.tags])),
    )


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML between leading `---` lines (Jekyll, Hugo, Docusaurus, Obsidian all write it)."""
    match = re.match(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", text, re.DOTALL)
    if not match:
        return {}, text
    try:
        front = yaml.load(match.group(1), Loader=_FrontMatterLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        raise UnreadableSource(
            f"front matter is not valid YAML: {str(error).splitlines()[0]}"
        ) from None
    return (front, text[match.end() :]) if isinstance(front, dict) else ({}, text)


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases: front matter never needs them, and nested ones ("billion laughs") explode."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def plain(values: dict[str, Any]) -> dict[str, Any]:
    """Front-matter values as JSON-safe scalars (YAML dates become ISO strings)."""
    return {
        str(k): v if isinstance(v, (str, int, float, bool)) else str(v)
        for k, v in values.items()
        if v is not None
    }
