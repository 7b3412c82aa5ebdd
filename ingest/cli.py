"""`ingest`: load manuals and FAQ tables into the knowledge base.

    ingest PATH... [--prune] [--rebuild] [--dry-run] [--json]   add and update documents
    ingest rollback                                              serve the previous build again
    ingest status                                                what is serving

Exit codes: 0 all documents ingested, 1 some files failed (the rest were ingested; a
rebuild is abandoned and the old index keeps serving), 2 nothing was done (a path is
missing, the store is locked, a setting is wrong).
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import IngestError
from ingest.loaders import TableColumns
from knowledge.errors import KnowledgeError

COMMANDS = ("rollback", "status")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__.splitlines()[0],
                                     epilog="Other commands: `ingest rollback`, `ingest status`.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="Markdown, text, HTML, PDF, CSV FAQ files, tables (CSV, TSV, Parquet, Excel), or directories of them")
    parser.add_argument("--prune", action="store_true",
                        help="also delete documents whose files under PATH are gone")
    parser.add_argument("--rebuild", action="store_true",
                        help="build a new index from PATH and swap it in when complete (zero downtime)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print what would be added, updated and deleted; write nothing")
    parser.add_argument("--question-col", help="CSV column holding the question (default: found by name)")
    parser.add_argument("--answer-col", help="CSV column holding the answer (default: found by name)")
    parser.add_argument("--link-col", help="CSV column holding the link shown as the source")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = parser.parse_args(argv)
    if args.rebuild and (args.prune or args.dry_run):
        parser.error("--rebuild reads everything afresh: it cannot be combined with --prune or --dry-run")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] in COMMANDS:
            return command(argv[0], json_output="--json" in argv[1:])
        return ingest(parse_args(argv))
    except (IngestError, KnowledgeError) as error:
        print(f"ingest: {error}", file=sys.stderr)
        return 2


def ingest(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"ingest: no such file or directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    columns = TableColumns(args.question_col, args.answer_col, args.link_col)
    with opened_pipeline(columns) as pipeline:
        with progress_bar(enabled=not args.json and sys.stderr.isatty()) as progress:
            if args.rebuild:
                from ingest.reindex import reindex

                summary = reindex(pipeline.store, pipeline.embedder, args.paths, progress=progress, columns=columns,
                                  tables=pipeline.tables)
            else:
                summary = pipeline.run(args.paths, prune=args.prune, dry_run=args.dry_run, progress=progress)
    print(json.dumps(summary.as_dict(), ensure_ascii=False) if args.json else summary.describe())
    return 0 if summary.ok else 1


def command(name: str, json_output: bool) -> int:
    from knowledge.settings import KnowledgeSettings
    from knowledge.store import Store
    from knowledge.tables import TableStore

    settings = KnowledgeSettings.from_environment()
    store = Store.open(settings)
    try:
        if name == "rollback":
            target = store.previous_collection()
            if target is None:
                print("ingest: nothing to roll back to: no previous build is kept "
                      "(one is kept after each `ingest --rebuild`)", file=sys.stderr)
                return 2
            store.point_alias_at(target)
        info = store.info()
        tables = [{"name": t.name, "rows": t.rows, "path": t.path, "sheet": t.sheet}
                  for t in TableStore(settings.tables_path).tables()]
    finally:
        store.close()
    if info is None:
        print("ingest: the knowledge base is empty; run `ingest PATH...` first", file=sys.stderr)
        return 2
    if json_output:
        print(json.dumps({**vars(info), "tables": tables}, ensure_ascii=False))
    else:
        verb = "now serving" if name == "rollback" else "serving"
        print(f"{verb} {info.collection} (version {info.version}): {info.documents} documents, "
              f"{info.chunks} chunks; last ingest {info.last_ingest or 'unknown'}"
              + (f"; rollback would go to {info.previous}" if info.previous else ""))
        print("\n".join(f"  table {t['name']}: {t['rows']:,} rows ({t['path']}{', sheet ' + t['sheet'] if t['sheet'] else ''})"
                        for t in tables) or "  no tables")
    return 0


@contextmanager
def opened_pipeline(columns: TableColumns):
    """A pipeline on the configured store; the store is closed however the run ends."""
    from ingest.pipeline import Pipeline
    from knowledge.embeddings import Embedder, configure_llama_index
    from knowledge.settings import KnowledgeSettings
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    from knowledge.tables import TableStore

    settings = KnowledgeSettings.from_environment()
    store = Store.open(settings)
    try:
        embedder = Embedder()
        configure_llama_index(embedder)
        yield Pipeline(store, embedder, SparseEncoder(), columns, TableStore(settings.tables_path))
    finally:
        store.close()


class progress_bar:
    """A tqdm bar over the chunks being written, on a terminal only."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __enter__(self):
        return self.update if self.enabled else None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


if __name__ == "__main__":
    sys.exit(main())
