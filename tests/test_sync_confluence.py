"""The Confluence connector against a fake Confluence Cloud on localhost (REST API v2 shapes)."""

import pytest

from ingest.connectors.confluence import Confluence
from ingest.pipeline import Pipeline
from ingest.settings import IngestSettings
from ingest.sync.config import Source
from ingest.sync.runner import sync_source
from ingest.sync.state import SyncState
from knowledge.sparse import SparseEncoder
from tests.fakes.confluence_api import FakeConfluence, Page
from tests.fakes.json_api import Reply

TOKEN = "atl-token-1"


@pytest.fixture
def confluence():
    with FakeConfluence("bot@acme.example", TOKEN) as server:
        server.pages = {
            p.id: p
            for p in [
                Page(
                    "11",
                    "ENG",
                    "Deploys",
                    "<h2>Rollback</h2><p>Run the rollback job from the pipeline.</p>",
                    "2026-11-01T10:00:00.000Z",
                    labels=["deploys", "ops"],
                ),
                Page(
                    "12",
                    "ENG",
                    "On-call",
                    "<p>The on-call rota changes on Mondays.</p>",
                    "2026-11-02T10:00:00.000Z",
                ),
                Page(
                    "13",
                    "ENG",
                    "Budgets",
                    "<p>Team budgets are set in March.</p>",
                    "2026-11-03T10:00:00.000Z",
                    groups=["finance"],
                ),
                Page(
                    "14",
                    "ENG",
                    "Reviews",
                    "<p>Performance reviews are private.</p>",
                    "2026-11-04T10:00:00.000Z",
                    users=["acc-unknown"],
                ),
                Page(
                    "21",
                    "HR",
                    "Not asked for",
                    "<p>Another space.</p>",
                    "2026-11-05T10:00:00.000Z",
                ),
            ]
        }
        # Under a restricted page: Confluence applies the parent's restriction to them.
        server.pages["15"] = Page(
            "15",
            "ENG",
            "Budget calendar",
            "<p>Budget drafts are due in February.</p>",
            "2026-10-01T10:00:00.000Z",
            parent="13",
        )
        server.pages["16"] = Page(
            "16",
            "ENG",
            "Review forms",
            "<p>The forms are in the HR tool.</p>",
            "2026-10-02T10:00:00.000Z",
            parent="14",
        )
        yield server


@pytest.fixture
def sync(store, embedder, redis_client, redis_prefix, confluence):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    state = SyncState(redis_client, redis_prefix)
    source = Source(
        name="wiki",
        kind="confluence",
        where=confluence.site,
        spaces=["ENG"],
        tags=["wiki"],
        readers={"finance": "usergroup:S0FINANCE"},
    )

    def run(token=TOKEN, **options):
        settings = IngestSettings(confluence_email="bot@acme.example", confluence_api_token=token)
        return sync_source(source, Confluence(source, settings), pipeline, state, **options)

    return run


def docs(store) -> dict[str, object]:
    return {c.title: c for c in store.chunks()}


def test_pages_labels_restrictions_and_pagination_through_a_429(sync, confluence, store):
    confluence.fail_next(
        "/pages",
        Reply(
            429,
            {"errors": [{"status": 429, "code": "TOO_MANY_REQUESTS"}]},
            {"Retry-After": "0"},
        ),
    )
    status = sync()
    assert (status.result, status.added, status.full) == ("ok", 4, True)
    found = docs(store)
    assert set(found) == {"Deploys", "On-call", "Budgets", "Budget calendar"}
    assert found["Budget calendar"].audience == ["usergroup:S0FINANCE"]  # its parent's restriction
    assert found["Deploys"].tags == ["deploys", "ops", "wiki"] and found["Deploys"].audience == [
        "everyone"
    ]
    assert found["Deploys"].source == f"{confluence.site}/spaces/ENG/pages/11"
    assert found["Budgets"].audience == ["usergroup:S0FINANCE"]
    assert [s["item"] for s in status.skipped] == ["Reviews", "Review forms"]
    assert all("acc-unknown" in s["reason"] for s in status.skipped)
    assert len(confluence.paths("/spaces/1001/pages")) == 4  # 6 pages, 2 a page, one 429 retried


def test_incremental_reads_only_what_changed_and_a_new_restriction_removes_the_page(
    sync, confluence, store
):
    sync()
    confluence.requests.clear()
    confluence.pages["12"].storage = "<p>The on-call rota changes on Tuesdays.</p>"
    confluence.pages["12"].modified = "2026-12-01T09:00:00.000Z"
    confluence.pages["11"].users = ["acc-unknown"]
    confluence.pages["11"].modified = "2026-12-01T08:00:00.000Z"
    status = sync()
    assert (status.full, status.updated, status.deleted) == (False, 1, 1)
    assert "Tuesdays" in docs(store)["On-call"].text and "Deploys" not in docs(store)
    assert confluence.paths("/restriction/") == [
        "/wiki/rest/api/content/12/restriction/byOperation/read",
        "/wiki/rest/api/content/11/restriction/byOperation/read",
    ]


def test_a_wrong_token_says_what_to_fix_and_keeps_what_was_synced(sync, store):
    sync()
    held = store.count()
    status = sync(token="wrong-7f3a", full=True)
    assert (
        status.result == "failed"
        and "CONFLUENCE_API_TOKEN" in status.error
        and "401" in status.error
    )
    assert "wrong-7f3a" not in status.error  # the token itself is never shown
    assert store.count() == held and status.failures == 1


def test_a_listing_that_breaks_half_way_keeps_the_pages_already_read(sync, confluence, store):
    for _ in range(6):
        confluence.fail_next(
            "cursor",
            Reply(
                503,
                {"errors": [{"status": 503, "code": "SERVICE_UNAVAILABLE"}]},
                {"Retry-After": "0"},
            ),
        )
    status = sync()
    assert status.result == "partial" and "503" in status.error
    assert set(docs(store)) == {"Budgets"}  # newest first: the first page of the listing
    # No full pass has completed yet, so the next run is one, and reads the rest.
    again = sync()
    assert (again.result, again.full, again.added, again.unchanged) == ("ok", True, 3, 1)
    assert set(docs(store)) == {"Budgets", "Deploys", "On-call", "Budget calendar"}
