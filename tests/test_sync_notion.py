"""The Notion connector against a fake Notion API on localhost (its public reference's shapes)."""

import pytest

from ingest.connectors.notion import Notion
from ingest.pipeline import Pipeline
from ingest.settings import IngestSettings
from ingest.sync.config import Source
from ingest.sync.runner import sync_source
from ingest.sync.state import SyncState
from knowledge.sparse import SparseEncoder
from tests.fakes.json_api import Reply
from tests.fakes.notion_api import FakeNotion, NotionPage, block

TOKEN = "secret_notion_1"


@pytest.fixture
def notion():
    with FakeNotion(TOKEN) as server:
        server.databases = {"db1": "Runbooks"}
        server.pages = {
            p.id: p
            for p in [
                NotionPage(
                    "p1",
                    "Onboarding",
                    "2026-11-01T10:00:00.000Z",
                    [
                        block("heading_1", "First week"),
                        block("paragraph", "Collect your badge at reception."),
                        block("heading_2", "Accounts"),
                        block(
                            "bulleted_list_item",
                            "Ask IT for a laptop.",
                            [block("paragraph", "Laptops ship in two days.")],
                        ),
                        block("child_page", "A page of its own"),
                    ],
                ),
                NotionPage(
                    "p2",
                    "Expenses",
                    "2026-11-02T10:00:00.000Z",
                    [block("paragraph", "Receipts within 30 days.")],
                ),
                NotionPage(
                    "p3",
                    "Restart the queue",
                    "2026-11-03T10:00:00.000Z",
                    [block("paragraph", "Drain it first.")],
                    database="db1",
                    properties={"Team": {"type": "select", "select": {"name": "Platform"}}},
                ),
            ]
        }
        yield server


@pytest.fixture
def sync(store, embedder, redis_client, redis_prefix, notion):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    state = SyncState(redis_client, redis_prefix)
    source = Source(name="notion", kind="notion", where="shared", audience=["channel:C0STAFF"])

    def run(token=TOKEN, **options):
        settings = IngestSettings(notion_token=token, notion_api_url=notion.url)
        return sync_source(source, Notion(source, settings), pipeline, state, **options)

    return run


def chunks(store) -> dict[str, list]:
    found = {}
    for chunk in store.chunks():
        found.setdefault(chunk.title, []).append(chunk)
    return found


def test_pages_and_database_rows_become_sections_through_cursors_and_a_429(sync, notion, store):
    notion.fail_next(
        "/v1/search",
        Reply(
            429,
            {
                "object": "error",
                "status": 429,
                "code": "rate_limited",
                "message": "You have been rate limited.",
            },
            {"Retry-After": "0"},
        ),
    )
    status = sync()
    assert (status.result, status.added) == ("ok", 3)
    found = chunks(store)
    onboarding = " ".join(c.text for c in found["Onboarding"])
    assert "Collect your badge" in onboarding and "Laptops ship in two days." in onboarding
    assert "A page of its own" not in onboarding
    assert {c.section for c in found["Onboarding"]} >= {
        "First week",
        "First week > Accounts",
    }
    row = found["Restart the queue"][0]
    assert "**Team:** Platform" in row.text and row.metadata["Team"] == "Platform"
    assert row.source == "https://www.notion.so/p3" and row.audience == ["channel:C0STAFF"]


def test_incremental_reads_pages_edited_since_and_archived_pages_go(sync, notion, store):
    sync()
    notion.requests.clear()
    notion.pages["p2"].blocks = [block("paragraph", "Receipts within 60 days.")]
    notion.pages["p2"].edited = "2026-12-01T10:00:00.000Z"
    notion.pages["p1"].archived = True
    notion.pages["p1"].edited = "2026-12-01T11:00:00.000Z"
    status = sync()
    assert (status.full, status.updated, status.deleted) == (False, 1, 1)
    assert "60 days" in chunks(store)["Expenses"][0].text and "Onboarding" not in chunks(store)
    assert not notion.paths("/v1/blocks/p1/")  # archived: removed without reading it
    notion.requests.clear()
    quiet = sync()
    # Nothing edited since the mark: the searches and the database query only, no page's blocks.
    assert (quiet.updated, quiet.added) == (0, 0) and not notion.paths("/v1/blocks/")


def test_a_wrong_token_says_what_to_fix(sync, store):
    status = sync(token="secret_wrong")
    assert (
        status.result == "failed"
        and "unauthorized" in status.error
        and "NOTION_TOKEN" in status.error
    )
    assert "secret_wrong" not in status.error and store.count() == 0
