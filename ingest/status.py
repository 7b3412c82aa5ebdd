"""What `ingest status` and `ingest rollback` print: the serving build, its documents and tables
per audience, each synced source; and the per-audience counts `/kb status` shows too."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable

from knowledge.access import EVERYONE


def show_serving(name: str, json_output: bool) -> int:
    """`ingest status`, and `ingest rollback` (which first points the alias at the previous build):
    print what is serving; 2 when there is nothing to show or roll back to."""
    from ingest.settings import IngestSettings
    from ingest.sync.commands import sources_status
    from knowledge.settings import KnowledgeSettings
    from knowledge.store import Store
    from knowledge.tables import TableStore

    settings = KnowledgeSettings.from_environment()
    store = Store.open(settings)
    try:
        if name == "rollback":
            target = store.previous_collection()
            if target is None:
                print(
                    "ingest: nothing to roll back to: no previous build is kept "
                    "(one is kept after each `ingest --rebuild`)",
                    file=sys.stderr,
                )
                return 2
            store.point_alias_at(target)
        info = store.info()
        tables = [
            {
                "name": t.name,
                "rows": t.rows,
                "path": t.path,
                "sheet": t.sheet,
                "audience": list(t.audience),
                "tags": list(t.tags),
            }
            for t in TableStore(settings.tables_path).tables()
        ]
    finally:
        store.close()
    synced, sources = (
        sources_status(IngestSettings.from_environment()) if name == "status" else ([], [])
    )
    if info is None:
        print(
            "ingest: the knowledge base is empty; run `ingest PATH...` or `ingest sync` first",
            file=sys.stderr,
        )
        print("\n".join(f"sources: {line}" for line in synced), file=sys.stderr) if synced else None
        return 2
    if json_output:
        print(
            json.dumps(
                {
                    **vars(info),
                    "tables": tables,
                    "synced_sources": sources,
                    "tables_per_audience": tables_per_audience(t["audience"] for t in tables),
                },
                ensure_ascii=False,
            )
        )
    else:
        verb = "now serving" if name == "rollback" else "serving"
        print(
            f"{verb} {info.collection} (version {info.version}): {info.documents} documents, "
            f"{info.chunks} chunks embedded by {info.model}; last ingest {info.last_ingest or 'unknown'}"
            + (f"; rollback would go to {info.previous}" if info.previous else "")
        )
        print(
            "\n".join(
                f"  table {t['name']}: {t['rows']:,} rows ({t['path']}{', sheet ' + t['sheet'] if t['sheet'] else ''})"
                + ("" if t["audience"] == [EVERYONE] else f" for {', '.join(t['audience'])}")
                for t in tables
            )
            or "  no tables"
        )
        print(f"documents per audience: {per_audience(info.audiences)}")
        if tables:
            print(
                f"tables per audience: {per_audience(tables_per_audience(t['audience'] for t in tables))}"
            )
        if synced:
            print("sources:\n" + "\n".join(f"  {line}" for line in synced))
    return 0


def tables_per_audience(audiences: Iterable[Iterable[str]]) -> dict[str, int]:
    """Each table's audience in, tables per audience out (most first); a table several
    audiences may read counts in each."""
    counts = Counter(audience for table in audiences for audience in table)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def per_audience(counts: dict[str, int]) -> str:
    """`everyone 40, channel:CHR 2`; documents readable by several audiences count in each."""
    return (
        ", ".join(f"{audience} {count}" for audience, count in counts.items())
        or "unknown (run `ingest` again)"
    )
