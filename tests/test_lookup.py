"""What a source is, for the MCP server's `list_sources` and kb://sources/{id} (bot/lookup.py):
a document, or a table with its rows, named by a short id that needs no URL-encoding. The ids
the chunks carry are the ones ingest writes (ingest/loaders.py, faq_tables.py, tables.py and
the sync runner); the tools themselves are tested end to end in tests/test_mcp.py."""

from __future__ import annotations

import re
from collections import defaultdict

from bot.lookup import describe, source_id
from knowledge.models import Chunk

MANUAL = "/srv/docs/handbook/travel.md"
FAQ = "/srv/docs/faq/it.csv"
TABLE = "/srv/docs/tables/offices.csv"


def chunk(doc_id: str, path: str, kind: str = "doc", position: int = 0, **fields) -> Chunk:
    return Chunk(
        id=f"{doc_id}:{position}",
        doc_id=doc_id,
        text="text",
        title=fields.pop("title", doc_id),
        source=fields.pop("source", path),
        kind=kind,
        path=path,
        position=position,
        **fields,
    )


CHUNKS = [
    chunk(MANUAL, MANUAL, position=0, title="Travel policy"),
    chunk(MANUAL, MANUAL, position=1, title="Travel policy"),
    chunk(f"{FAQ}#1a2b", FAQ, "faq", question="VPN?", answer="Use WireGuard."),
    chunk(f"{FAQ}#3c4d", FAQ, "faq", question="Printer?", answer="Floor 2."),
    chunk(f"{TABLE}#table", TABLE, "table", title="offices"),
    chunk(f"{TABLE}#table#row0", TABLE, "row", position=0, title="offices"),
    # Two pages of one synced Confluence space: they share the source's path.
    chunk("source:wiki/101", "source:wiki", title="Onboarding", source="https://wiki/101"),
    chunk("source:wiki/102", "source:wiki", title="Expenses", source="https://wiki/102"),
]


def test_a_source_is_a_document_or_a_table_with_its_rows():
    by_source = defaultdict(list)
    for each in CHUNKS:
        by_source[source_id(each)].append(each)
    described = {
        describe(sid, chunks, "2026-12-01").title: sid for sid, chunks in by_source.items()
    }
    assert set(described) == {"Travel policy", "it.csv", "offices", "Onboarding", "Expenses"}
    sizes = {title: len(by_source[sid]) for title, sid in described.items()}
    assert sizes == {"Travel policy": 2, "it.csv": 2, "offices": 2, "Onboarding": 1, "Expenses": 1}


def test_source_ids_are_short_stable_and_say_nothing_of_the_server():
    ids = {source_id(each) for each in CHUNKS}
    assert all(re.fullmatch(r"[0-9a-f]{16}", sid) for sid in ids)
    assert source_id(chunk(MANUAL, MANUAL, position=7)) == source_id(CHUNKS[0])  # every ingest


def test_an_faq_table_is_named_and_linked_by_its_file():
    rows = [each for each in CHUNKS if each.kind == "faq"]
    faq = describe(source_id(rows[0]), rows, "2026-12-01")
    assert (faq.kind, faq.title, faq.link, faq.passages) == ("faq", "it.csv", FAQ, 2)
