"""One run of one source: pull what changed, compare it with what the collection holds, write it
in one go, and on a full pass delete what the source no longer has (unless that is suspiciously
much). The status records the outcome in words, whatever happened."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from ingest.connectors.base import Connector, ConnectorError, Pull
from ingest.documents import SourceDocument
from ingest.pipeline import Pipeline
from ingest.plan import Indexed, Plan, indexed_documents
from ingest.sync.config import Source
from ingest.sync.state import Status, SyncState, now
from knowledge.access import EVERYONE
from knowledge.errors import IndexModelMismatch

log = logging.getLogger(__name__)
COLLECTION = "collection"
"""In a source's saved state: the collection its marks and validators were written into."""
AFTER_REBUILD = (
    "Sources in sources.yaml are not part of that rebuild: the next `ingest sync` after it reads "
    "each of them again, whole, into the new index."
)


def sync_source(
    source: Source,
    connector: Connector,
    pipeline: Pipeline,
    state: SyncState,
    *,
    dry_run: bool = False,
    force: bool = False,
    full: bool = False,
    max_delete_share: float = 0.5,
) -> Status:
    started = time.perf_counter()
    previous = state.status(source.name)
    collection = pipeline.store.serving_collection()
    if collection:
        try:  # another model's vectors: only a rebuild may replace them, never add to them
            pipeline.store.check_model(pipeline.embedder.model_name)
        except IndexModelMismatch as mismatch:
            return refused(source, state, f"{mismatch} {AFTER_REBUILD}")
    marks = state.state(source.name)
    if marks.get(COLLECTION) != collection:
        # Its marks and validators describe another index (rebuilt, rolled back): read it all again.
        marks = {COLLECTION: collection}
        full = True
    full = (
        full
        or connector.full_only
        or not previous.last_full
        or now() - previous.last_full >= source.full_every
    )
    pull = Pull(state=marks)
    error = ""
    try:
        connector.pull(pull, full)
    except ConnectorError as failure:
        error = str(failure)  # what was pulled before it still counts; no deletions below
    status = Status(
        full=full,
        requests=pull.requests,
        skipped=pull.skipped,
        last_full=previous.last_full,
        failures=previous.failures,
    )
    documents = [_labelled(doc, source) for doc in pull.documents]
    held = {
        doc_id: known
        for doc_id, known in (
            indexed_documents(pipeline.store, collection) if collection else {}
        ).items()
        if known.path == source.path
    }
    plan = _plan(documents, held)
    plan.deleted = {
        doc_id: source.path
        for doc_id in (f"{source.path}/{i}" for i in pull.removed)
        if doc_id in held
    }
    if full and not error:
        present = {f"{source.path}/{doc_id}" for doc_id in pull.present}
        plan.unchanged += len(
            present - {doc.doc_id for doc in documents}
        )  # not fetched again (a 304)
        gone = {doc_id: held[doc_id].path for doc_id in held if doc_id not in present}
        if held and len(gone) / len(held) > max_delete_share and not force:
            status.result = "needs --force"
            error = (
                f"the source no longer lists {len(gone)} of its {len(held)} documents "
                f"({len(gone) / len(held):.0%}, above the {max_delete_share:.0%} SYNC_MAX_DELETE_SHARE); "
                f"nothing was deleted. If they really are gone, run `ingest sync --source {source.name} "
                "--force`; if not, check the source's token and location"
            )
        else:
            plan.deleted.update(gone)
    status.added, status.updated, status.deleted, status.unchanged = (
        len(plan.added),
        len(plan.updated),
        len(plan.deleted),
        plan.unchanged,
    )
    if dry_run:
        status.result = "dry run"
        status.error = error
        return status
    write_failed = False
    try:
        if plan.added or plan.updated or plan.deleted:
            dimension = pipeline.embedder.dimension
            collection = collection or pipeline.store.ensure_serving_collection(
                dimension, pipeline.embedder.model_name
            )
            pipeline.write(collection, plan, held, None, together=True)
            pipeline.store.record_ingest(collection, [source.path])
        state.save_state(source.name, {**pull.state, COLLECTION: collection})
    except (
        Exception
    ) as failure:  # the store or the embedding failed: nothing new serves; retry later
        log.exception("source %s: writing failed", source.name)
        error = f"writing to the knowledge base failed: {type(failure).__name__}: {failure}"
        status.added, status.updated, status.deleted, write_failed = 0, 0, 0, True
    status.error = error
    status.result = status.result if status.result != "never run" else ("failed" if error else "ok")
    if status.result == "failed" and not write_failed and (pull.documents or plan.unchanged):
        status.result = "partial"
    if full and not error:
        status.last_full = now()
    status.failures = previous.failures + 1 if error else 0
    status.last_run = now()
    status.next_run = status.last_run + backoff(source.schedule, status.failures)
    status.seconds = round(time.perf_counter() - started, 2)
    state.save_status(source.name, status)
    log.info(
        "synced %s: %s, added %d, updated %d, deleted %d",
        source.name,
        status.result,
        status.added,
        status.updated,
        status.deleted,
    )
    return status


def could_not_start(source: Source, state: SyncState, error: ConnectorError) -> Status:
    """The status of a source whose connector could not even be made (a token not set)."""
    return refused(source, state, str(error))


def refused(source: Source, state: SyncState, error: str) -> Status:
    """A run that read nothing, for `error`: failed, backing off, saved."""
    previous = state.status(source.name)
    status = Status(
        result="failed",
        error=error,
        failures=previous.failures + 1,
        last_full=previous.last_full,
        last_run=now(),
    )
    status.next_run = status.last_run + backoff(source.schedule, status.failures)
    state.save_status(source.name, status)
    return status


def backoff(schedule: float, failures: int) -> float:
    """The wait before the next run: the schedule, doubled per failure in a row, at most a day
    (or the schedule, when that is longer)."""
    return max(schedule, min(schedule * 2**failures, 86400.0)) if failures else schedule


def _plan(documents: list[SourceDocument], held: dict[str, Indexed]) -> Plan:
    plan = Plan()
    plan.sort_in({doc.doc_id: doc for doc in documents}.values(), held)
    return plan


def _labelled(doc: SourceDocument, source: Source) -> SourceDocument:
    """The source's labels: its own restriction wins (never widened); else sources.yaml's audience."""
    audience = doc.audience or source.audience or (EVERYONE,)
    tags = tuple(dict.fromkeys([*doc.tags, *source.tags]))
    metadata = {
        **doc.metadata,
        "source_name": source.name,
        **({"owner": source.owner} if source.owner else {}),
    }
    return replace(
        doc,
        path=source.path,
        doc_id=f"{source.path}/{doc.doc_id}",
        audience=audience,
        tags=tags,
        metadata=metadata,
    )
