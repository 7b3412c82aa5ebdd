"""Reading the knowledge base itself, for an edge that hands out passages rather than answers
(the MCP server's search, its list of sources and a source's passages). The same rules as `ask`
(bot/service.py): what the asker may read decides what is searched and shown (one `Access`,
as the answer chain builds it), a query passes the input guard as a question does, a passage
that carries instructions is never handed out, and each search is a trace of its own.

A source is one document (a manual, a page of a synced wiki) or one table (an FAQ table, a data
table), named by a short hash (`source_id`): the id that search results carry, and that
`passages` opens. Its passages are shown one by one to whoever may read each (an FAQ's rows
can have audiences of their own)."""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from bot.chain import i18n
from bot.chain.degrade import Reads
from bot.deps import Deps
from guards.input import MAX_QUESTION_CHARS
from knowledge.access import AUDIENCE, FOLDERS, TAGS, Access, Asker
from knowledge.models import Chunk, Passage

MAX_LIMIT = 20
UPDATED_KEYS = ("updated", "last_modified", "modified", "date")
"""Front matter (or table columns) that say when a document last changed, first found wins."""


@dataclass(frozen=True)
class Refused:
    """A query the input guard stopped: why, and what the asker is told (in the query's language)."""

    reason: str
    message: str


class Source(BaseModel):
    """One document or table of the knowledge base as the asker may see it. The MCP server publishes it as is,
    with the URI that opens it (bot/mcp_server/results.py): these docstrings are the field
    descriptions its clients read."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="forbid")

    id: str
    title: str
    kind: str
    """doc, faq or table."""
    # A link when the document has one, else its path (undescribed in the published schema).
    link: str
    passages: int
    """How many of its passages the caller may read."""
    owner: str
    """Who owns it, as its front matter says; "" when it does not."""
    updated: str
    """When it last changed, as its front matter says; else when the index last took it in (UTC)."""
    tags: tuple[str, ...]
    restricted: bool
    """Readable by some audience narrower than everyone: not to be passed on freely."""


def source_id(chunk: Chunk) -> str:
    """The id of the source `chunk` belongs to: short, opaque and the same on every ingest (a
    hash of what it names, never a server path a client would have to URL-encode)."""
    return hashlib.sha256(source_key(chunk).encode()).hexdigest()[:16]


def source_key(chunk: Chunk) -> str:
    """What a source is: a document (a file, or one page of a synced source, whose pages share
    its `source:NAME` path); an FAQ table or a data table is its file, rows and all."""
    return chunk.path if chunk.kind in ("faq", "table", "row") and chunk.path else chunk.doc_id


class Lookup:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._lock = threading.Lock()
        self._catalogue: tuple[str, dict[str, list[Chunk]], str] | None = None

    def access(self, asker: Asker) -> Access:
        """What `asker` may read: their audiences, user groups and channel scope, in one round trip."""
        reads = Reads(self.deps.redis)
        read_access = self.deps.access.read_access(asker, reads)
        reads.send()
        return read_access()

    def search(self, query: str, limit: int, asker: Asker) -> list[Passage] | Refused:
        """The passages `asker` may read that best match `query`, best first; a refusal when the
        input guard stops the query. Unsafe passages are dropped, so fewer than `limit` may come."""
        telemetry = self.deps.telemetry
        with telemetry.stage("search", **{"kb.channel": asker.channel, "kb.limit": limit}) as span:
            with telemetry.stage("guard.input", latency="guard"):
                verdict = self.deps.input_guard.check(query)
            if verdict.reason is not None:
                telemetry.guard_block(verdict.reason)
                span.set_attribute("kb.guard.verdict", verdict.reason)
                language = i18n.language_of(query)
                return Refused(
                    verdict.reason,
                    verdict.message
                    or i18n.text(
                        language,
                        f"refusal.{verdict.reason}",
                        length=len(query),
                        limit=MAX_QUESTION_CHARS,
                    ),
                )
            access = self.access(asker)
            with telemetry.stage("retrieve", latency="retrieve"):
                retrieved = self.deps.retriever.retrieve(
                    verdict.text, max(1, min(limit, MAX_LIMIT)), access=access
                )
            with telemetry.stage("screen"):
                safe = [p for p in retrieved if self.deps.input_guard.passage_is_safe(p.chunk.text)]
            for _ in range(len(retrieved) - len(safe)):
                telemetry.guard_block("unsafe_passage")
            span.set_attribute("kb.passages.ids", [p.id for p in safe])
            return safe

    def sources(self, asker: Asker) -> list[Source]:
        """Every source `asker` may read at least one passage of, by title."""
        catalogue, indexed = self._current()
        access = self.access(asker)
        found = []
        for sid, chunks in catalogue.items():
            readable = [c for c in chunks if access.allows(labels(c))]
            if readable:
                found.append(describe(sid, readable, indexed))
        return sorted(found, key=lambda source: (source.title.lower(), source.id))

    def passages(self, sid: str, asker: Asker) -> list[Chunk]:
        """The passages of source `sid` that `asker` may read, in document order: none when the
        source does not exist or none of it is theirs (the two look alike on purpose)."""
        catalogue, _ = self._current()
        access = self.access(asker)
        chunks = [c for c in catalogue.get(sid, []) if access.allows(labels(c))]
        chunks = [c for c in chunks if self.deps.input_guard.passage_is_safe(c.text)]
        return sorted(chunks, key=lambda c: (c.doc_id, c.position))

    def _current(self) -> tuple[dict[str, list[Chunk]], str]:
        """Chunks by source, read again only when the index has changed (a reindex, a swap)."""
        version = self.deps.store.version()
        with self._lock:
            if self._catalogue is None or self._catalogue[0] != version:
                by_source: dict[str, list[Chunk]] = defaultdict(list)
                for chunk in self.deps.store.chunks():
                    by_source[source_id(chunk)].append(chunk)
                info = self.deps.store.info()
                self._catalogue = (
                    version,
                    dict(by_source),
                    info.last_ingest if info else "",
                )
            return self._catalogue[1], self._catalogue[2]


def describe(sid: str, chunks: list[Chunk], indexed: str) -> Source:
    first = min(chunks, key=lambda c: (c.kind != "table", c.position))
    kind = "faq" if first.kind == "faq" else first.kind
    title = first.title if kind != "faq" else first.path.rsplit("/", 1)[-1]
    metadata = first.metadata
    updated = next((str(metadata[key]) for key in UPDATED_KEYS if metadata.get(key)), indexed)
    return Source(
        id=sid,
        title=title,
        kind=kind,
        link=first.path if kind == "faq" else first.source,
        passages=len(chunks),
        owner=str(metadata.get("owner") or ""),
        updated=updated,
        tags=tuple(dict.fromkeys(tag for c in chunks for tag in c.tags)),
        restricted=any(c.restricted for c in chunks),
    )


def labels(chunk: Chunk) -> dict[str, list[str]]:
    """What `Access.allows` reads of a chunk (its whole payload would be copied for each)."""
    return {AUDIENCE: chunk.audience, TAGS: chunk.tags, FOLDERS: chunk.folders}
