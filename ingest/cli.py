"""`ingest PATH...`: load manuals and FAQ tables into the knowledge base.

Exit codes: 0 all documents ingested, 1 some files failed (the rest were ingested),
2 nothing was done (a path is missing, the store is locked, a setting is wrong).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ingest.errors import IngestError
from knowledge.errors import KnowledgeError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="Markdown, text or CSV FAQ files, or directories of them")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"ingest: no such file or directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    try:
        summary = run(args.paths)
    except (IngestError, KnowledgeError) as error:
        print(f"ingest: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict(), ensure_ascii=False) if args.json else render(summary))
    return 0 if summary.ok else 1


def run(paths: list[Path]):
    from ingest.pipeline import Pipeline
    from knowledge.embeddings import Embedder, configure_llama_index
    from knowledge.settings import Settings
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    settings = Settings.from_env()
    store = Store.open(settings)
    try:
        embedder = Embedder()
        configure_llama_index(embedder)
        return Pipeline(store, embedder, SparseEncoder()).run(paths)
    finally:
        store.close()


def render(summary) -> str:
    lines = [
        f"added {summary.added}, updated {summary.updated}, unchanged {summary.unchanged}, "
        f"deleted {summary.deleted}, failed {len(summary.failed)} "
        f"({summary.chunks_written} chunks written to {summary.collection})"
    ]
    lines += [f"  failed: {f['path']}: {f['reason']}" for f in summary.failed]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
