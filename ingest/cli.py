"""Load manuals and FAQ tables into the knowledge base.

\b
    ingest PATH... [--prune] [--rebuild] [--dry-run] [--audience WHO] [--tag TAG] [--json]
                                                                 add and update documents
    ingest rollback [--json]                                     serve the previous build again
    ingest status [--json]                                       what is serving, each source's sync
    ingest sync [--source NAME] [--dry-run] [--full] [--force] [--watch]
                                                                 sync the sources in sources.yaml

Exit codes: 0 all documents ingested, 1 some files failed (the rest were ingested; a
rebuild is abandoned and the old index keeps serving), 2 nothing was done (a path is
missing, the store is locked, a setting is wrong).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ingest.configured_pipeline import opened_pipeline, progress_bar
from ingest.errors import IngestError
from ingest.faq_tables import TableColumns
from ingest.frontmatter import Labels
from ingest.status import show_serving
from knowledge.access import AccessError
from knowledge.errors import KnowledgeError


class PathsOrCommand(click.Group):
    """`ingest PATH...` is `ingest add PATH...`: the first word is a command only when it names one
    and no such file or folder exists (a folder named `status` is ingested, not taken as `status`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = args[0] if args else ""
        if first not in ctx.help_option_names and not (
            first in self.commands and not Path(first).exists()
        ):
            args = ["add", *args]
        return super().parse_args(ctx, args)


@click.group(
    cls=PathsOrCommand,
    name="ingest",
    help=__doc__,
    context_settings={"help_option_names": ["-h", "--help"]},
)
def commands() -> None:
    pass


def main(argv: list[str] | None = None) -> int:
    """`ingest` (the console script) and what the tests call: the exit code is returned, and a
    usage error exits with 2 after printing the usage."""
    try:
        return commands.main(args=argv, prog_name="ingest", standalone_mode=False) or 0
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except (IngestError, KnowledgeError) as error:
        print(f"ingest: {error}", file=sys.stderr)
        return 2


@commands.command(help="Add and update documents from PATH... (`ingest PATH...` for short).")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--prune", is_flag=True, help="also delete documents whose files under PATH are gone")
@click.option(
    "--rebuild",
    is_flag=True,
    help="build a new index from PATH and swap it in when complete (zero downtime)",
)
@click.option(
    "--dry-run", is_flag=True, help="print what would be added, updated and deleted; write nothing"
)
@click.option("--question-col", help="CSV column holding the question (default: found by name)")
@click.option("--answer-col", help="CSV column holding the answer (default: found by name)")
@click.option("--link-col", help="CSV column holding the link shown as the source")
@click.option(
    "--audience",
    "audiences",
    multiple=True,
    metavar="WHO",
    help="who may read the documents under PATH that do not say so themselves: everyone, channel:C..., "
    "user:U..., usergroup:S... (repeatable or comma-separated; kept for later runs and reindexes "
    "of PATH; default everyone)",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="tag every document under PATH (repeatable), for channel scopes",
)
@click.option("--json", "as_json", is_flag=True, help="print the summary as one JSON object")
def add(
    paths: tuple[str, ...],
    prune: bool,
    rebuild: bool,
    dry_run: bool,
    question_col: str | None,
    answer_col: str | None,
    link_col: str | None,
    audiences: tuple[str, ...],
    tags: tuple[str, ...],
    as_json: bool,
) -> int:
    if rebuild and (prune or dry_run):
        raise click.UsageError(
            "--rebuild reads everything afresh: it cannot be combined with --prune or --dry-run"
        )
    try:
        labels = Labels.given(list(audiences), list(tags))
    except AccessError as error:
        raise click.UsageError(str(error)) from None
    urls = [p for p in paths if p.startswith(("http://", "https://"))]
    if urls:  # `ingest https://host/prefix/`: a website crawled once, kept as a source of its own
        from ingest.sync.commands import crawl

        return crawl(
            urls,
            labels,
            dry_run=dry_run,
            force=prune,
            as_json=as_json,
            other=len(paths) - len(urls),
        )
    paths = tuple(Path(p) for p in paths)
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"ingest: no such file or directory: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    columns = TableColumns(question_col, answer_col, link_col)
    with (
        opened_pipeline(columns, labels) as pipeline,
        progress_bar(enabled=not as_json and sys.stderr.isatty()) as progress,
    ):
        if rebuild:  # the reindex `/kb reindex` runs (ingest/reindex.py), on this pipeline
            summary = pipeline.rebuild(paths, progress=progress)
        else:
            summary = pipeline.run(paths, prune=prune, dry_run=dry_run, progress=progress)
    print(json.dumps(summary.as_dict(), ensure_ascii=False) if as_json else summary.describe())
    return 0 if summary.ok else 1


@commands.command(
    help="Serve the previous build again (one is kept after each `ingest --rebuild`)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="print what is now serving as one JSON object"
)
def rollback(as_json: bool) -> int:
    return show_serving("rollback", as_json)


@commands.command(
    help="What is serving: the collection, its documents and last ingest, the rollback target."
)
@click.option("--json", "as_json", is_flag=True, help="print it as one JSON object")
def status(as_json: bool) -> int:
    return show_serving("status", as_json)


def _register() -> None:
    from ingest.sync.commands import sync

    commands.add_command(sync)


_register()

if __name__ == "__main__":
    sys.exit(main())
