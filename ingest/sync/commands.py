"""`ingest sync` and the sources part of `ingest status`."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

import click

from ingest.settings import IngestSettings
from ingest.sync import report
from ingest.sync.config import Source, load_sources
from ingest.sync.state import Status, SyncState


@click.command(help="Sync the sources in sources.yaml once (or on their schedules with --watch).")
@click.option(
    "--source",
    "names",
    multiple=True,
    metavar="NAME",
    help="only this source (repeatable)",
)
@click.option(
    "--file",
    "sources_file",
    type=click.Path(path_type=Path),
    help="default: KB_SOURCES_FILE or ./sources.yaml",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="fetch and compare, print what would change; write nothing",
)
@click.option(
    "--full",
    is_flag=True,
    help="a full pass now (finds deletions), not an incremental one",
)
@click.option(
    "--force",
    is_flag=True,
    help="delete even when a source lost more than SYNC_MAX_DELETE_SHARE of its documents",
)
@click.option(
    "--watch",
    is_flag=True,
    help="keep running, each source on its schedule (one run at a time across workers)",
)
@click.option("--json", "as_json", is_flag=True, help="print each source's result as a JSON line")
def sync(
    names: tuple[str, ...],
    sources_file: Path | None,
    dry_run: bool,
    full: bool,
    force: bool,
    watch: bool,
    as_json: bool,
) -> int:
    from ingest.configured_pipeline import opened_pipeline
    from ingest.faq_tables import TableColumns
    from ingest.sync import watch as schedule

    if watch and (dry_run or full or force):
        raise click.UsageError(
            "--watch runs on the schedule: it cannot be combined with --dry-run, --full or --force"
        )
    settings = IngestSettings.from_environment()
    sources = chosen(load_sources(sources_file or settings.sources_file), names)
    state = SyncState.connect(settings.sync_redis_url, settings.sync_redis_prefix)

    def show(source: Source, status: Status) -> None:
        if as_json:
            print(
                json.dumps({"name": source.name, **vars(status)}, ensure_ascii=False),
                flush=True,
            )
        else:
            print(f"{source.name} ({source.kind}): {describe_run(status)}", flush=True)
            for skipped in status.skipped:
                print(f"  not ingested: {skipped['item']}: {skipped['reason']}", flush=True)

    try:
        with opened_pipeline(TableColumns()) as pipeline:
            if watch:
                stop = threading.Event()
                signal.signal(signal.SIGTERM, lambda *_: stop.set())
                with contextlib.suppress(KeyboardInterrupt):
                    schedule.watch(sources, pipeline, state, settings, stop, report=show)
                return 0
            results = schedule.run_once(
                sources,
                pipeline,
                state,
                settings,
                dry_run=dry_run,
                force=force,
                full=full,
                report=show,
            )
    finally:
        state.close()
    return exit_code(results)


def exit_code(results: dict[str, Status] | None) -> int:
    """0 when every source synced (or would have, in a dry run), 1 when one failed, 2 when another
    worker holds the sync lock (nothing ran)."""
    if results is None:
        print(
            "ingest: another sync is running (a worker holds the lock); try again when it ends",
            file=sys.stderr,
        )
        return 2
    return 0 if all(s.result in ("ok", "dry run") and not s.error for s in results.values()) else 1


def describe_run(status: Status) -> str:
    what = (
        f"{status.result}: added {status.added}, updated {status.updated}, deleted {status.deleted}, "
        f"unchanged {status.unchanged} ({'full' if status.full else 'incremental'} pass, "
        f"{status.requests} requests, {status.seconds:.1f}s)"
    )
    return what + (f"\n  error: {status.error}" if status.error else "")


def chosen(sources: list[Source], names: tuple[str, ...]) -> list[Source]:
    unknown = sorted(set(names) - {s.name for s in sources})
    if unknown:
        raise click.UsageError(
            f"no source named {', '.join(unknown)} in sources.yaml "
            f"(there are: {', '.join(s.name for s in sources) or 'none'})"
        )
    return [s for s in sources if not names or s.name in names]


def sources_status(settings: IngestSettings) -> tuple[list[str], list[dict]]:
    """Lines and records of every source's status, for `ingest status` (and its --json); empty
    when there is no sources file."""
    return _read_sources(
        settings,
        lambda sources, state: (
            report.describe(sources, state),
            report.statuses(sources, state),
        ),
        lambda problem: ([problem], []),
    )


def sources_lines(settings: IngestSettings) -> list[str]:
    """The lines alone, for `/kb status`."""
    return _read_sources(settings, report.describe, lambda problem: [problem])


def sources_records(settings: IngestSettings) -> list[dict]:
    """The records alone, for /metrics: a scrape builds no lines it would throw away."""
    return _read_sources(settings, report.statuses, lambda problem: [])


def _read_sources(settings: IngestSettings, read, unreadable):
    """`read(sources, state)`, or `unreadable(problem)` when the sources file or Redis fails (a
    status still answers while Redis is away); `read` of no sources without a sources file."""
    import redis

    from ingest.sync.config import SourcesFileError

    if not settings.sources_file.is_file():
        return read([], None)
    try:
        sources = load_sources(settings.sources_file)
        state = SyncState.connect(settings.sync_redis_url, settings.sync_redis_prefix)
    except SourcesFileError as error:
        return unreadable(str(error))
    try:
        return read(sources, state)
    except redis.RedisError as error:
        return unreadable(f"sync status unreadable: Redis at REDIS_URL: {error}")
    finally:
        state.close()


def start_schedule(settings: IngestSettings, pipeline) -> threading.Event | None:
    """`bot serve --sync-sources`: the sources' schedule in a thread of the serving process, on its
    own pipeline; None when there is no sources file. Set the returned event to stop it."""
    from ingest.sync import watch as schedule

    if not settings.sources_file.is_file():
        return None
    sources = load_sources(settings.sources_file)
    state = SyncState.connect(settings.sync_redis_url, settings.sync_redis_prefix)
    return schedule.start_in_background(sources, pipeline, state, settings)


def crawl(urls: list[str], labels, *, dry_run: bool, force: bool, as_json: bool, other: int) -> int:
    """`ingest URL...`: each URL a website source named after it (state and status kept like any other)."""
    from ingest.configured_pipeline import opened_pipeline
    from ingest.faq_tables import TableColumns
    from ingest.sync import watch as schedule

    if other:
        raise click.UsageError("give URLs and paths in separate `ingest` runs")
    sources = [
        Source(
            name=site_name(url),
            kind="website",
            where=url,
            audience=labels.audience,
            tags=labels.tags,
        )
        for url in urls
    ]
    settings = IngestSettings.from_environment()
    state = SyncState.connect(settings.sync_redis_url, settings.sync_redis_prefix)
    try:
        with opened_pipeline(TableColumns()) as pipeline:
            results = schedule.run_once(
                sources,
                pipeline,
                state,
                settings,
                dry_run=dry_run,
                force=force,
                full=True,
                report=lambda s, st: print(
                    json.dumps({"name": s.name, **vars(st)})
                    if as_json
                    else f"{s.name}: {describe_run(st)}"
                ),
            )
    finally:
        state.close()
    return exit_code(results)


def site_name(url: str) -> str:
    """`https://intranet.example/handbook/` -> `intranet.example-handbook`."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    slug = "-".join(p for p in [parts.netloc.replace(":", "-"), *parts.path.split("/")] if p)
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in slug)[:80]
