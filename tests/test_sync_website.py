"""The website connector against a real HTTP server on localhost whose pages change between syncs."""

import pytest

from ingest.connectors.website import Website
from ingest.pipeline import Pipeline
from ingest.reindex import reindex, sources_to_reindex
from ingest.settings import IngestSettings
from ingest.sync.config import Source
from ingest.sync.runner import sync_source
from ingest.sync.state import SyncState
from knowledge.sparse import SparseEncoder
from tests.conftest import SAMPLE_KB
from tests.fakes.website import FakeSite, page

LINKS = ["a.html", "b.html", "c.html", "private.html", "/elsewhere/x.html"]


@pytest.fixture
def site():
    pages = {
        "/handbook/": page("Handbook", "Start here.", LINKS),
        "/handbook/a.html": page("Travel", "Trains are booked in second class.", ["./"]),
        "/handbook/b.html": page("Laptops", "Laptops are replaced every four years.", ["./"]),
        "/handbook/c.html": page("Parking", "The car park closes at 22:00.", ["./"]),
        "/handbook/private.html": page("Salaries", "Secret salary bands.", ["./"]),
        "/elsewhere/x.html": page("Elsewhere", "Outside the prefix."),
    }
    with FakeSite(pages, robots="User-agent: *\nDisallow: /handbook/private.html\n") as server:
        yield server


@pytest.fixture
def sync(store, embedder, redis_client, redis_prefix, site):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    state = SyncState(redis_client, redis_prefix)
    source = Source(
        name="handbook",
        kind="website",
        where=f"{site.url}/handbook/",
        tags=["handbook"],
    )

    def run(**options):
        return sync_source(source, Website(source), pipeline, state, **options)

    return run


def texts(store) -> dict[str, str]:
    return {c.title: c.text for c in store.chunks()}


def test_a_changed_site_is_followed_and_an_unchanged_page_costs_one_request(sync, site, store):
    first = sync()
    assert (first.result, first.added, first.deleted) == ("ok", 4, 0)
    assert set(texts(store)) == {"Handbook", "Travel", "Laptops", "Parking"}
    assert site.requests["/handbook/private.html"] == 0 and site.requests["/elsewhere/x.html"] == 0
    assert {c.source for c in store.chunks()} >= {f"{site.url}/handbook/a.html"}
    assert all(c.tags == ["handbook"] and c.audience == ["everyone"] for c in store.chunks())
    assert "robots.txt" in str(first.skipped)

    site.pages["/handbook/a.html"] = page("Travel", "Trains are booked in first class now.", ["./"])
    del site.pages["/handbook/c.html"]
    site.pages["/handbook/d.html"] = page("Bicycles", "Bicycles go in the basement.", ["./"])
    site.pages["/handbook/"] = page("Handbook", "Start here.", ["a.html", "b.html", "d.html"])
    site.reset_counts()

    second = sync()
    # The index's links changed, but they sit in <nav>, which the HTML loader drops: its text did not.
    assert (second.added, second.updated, second.deleted, second.unchanged) == (
        1,
        1,
        1,
        2,
    )
    assert site.requests["/handbook/b.html"] == 1 and site.sent["/handbook/b.html"] == 0
    found = texts(store)
    assert set(found) == {"Handbook", "Travel", "Laptops", "Bicycles"}
    assert "first class" in found["Travel"]

    site.reset_counts()
    before = store.count()
    third = sync()
    assert (third.added, third.updated, third.deleted, third.unchanged) == (0, 0, 0, 4)
    # robots.txt is read afresh each run; no page is sent again.
    assert set(site.sent) == {"/robots.txt"} and site.requests["/handbook/b.html"] == 1
    assert store.count() == before


def test_a_site_that_vanishes_does_not_delete_everything_without_force(sync, site, store):
    sync()
    held = store.count()
    site.pages.clear()
    stopped = sync()
    assert stopped.result == "needs --force" and "--force" in stopped.error and stopped.deleted == 0
    assert store.count() == held
    forced = sync(force=True)
    assert forced.deleted == 4 and store.count() == 0


def test_a_dry_run_writes_nothing(sync, store):
    planned = sync(dry_run=True)
    assert (planned.result, planned.added) == ("dry run", 4)
    assert store.count() == 0


def test_a_sitemap_lists_the_pages_and_its_index_is_followed(
    store, embedder, redis_client, redis_prefix
):
    pages = {
        "/sitemap.xml": '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{url}/docs/sitemap.xml</loc></sitemap></sitemapindex>",
        "/docs/sitemap.xml": '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{url}/docs/a.html</loc></url><url><loc>{url}/docs/b.html</loc></url></urlset>",
        "/docs/a.html": page("Alpha", "Listed in the sitemap.", ["c.html"]),
        "/docs/b.html": page("Beta", "Listed too."),
        "/docs/c.html": page("Gamma", "Linked, not listed: a sitemap names the pages."),
    }
    with FakeSite(pages) as site:
        site.pages = {path: body.replace("{url}", site.url) for path, body in site.pages.items()}
        source = Source(name="mapped", kind="website", where=f"{site.url}/sitemap.xml")
        status = sync_source(
            source,
            Website(source),
            Pipeline(store, embedder, SparseEncoder()),
            SyncState(redis_client, redis_prefix),
        )
        assert (status.result, status.added) == ("ok", 2)
        assert {c.title for c in store.chunks()} == {"Alpha", "Beta"} and site.requests[
            "/docs/c.html"
        ] == 0


def test_an_index_another_model_wrote_is_refused_and_the_rebuilt_one_gets_the_site_again(
    sync, site, store, embedder
):
    sync()
    collection = store.serving_collection()
    # As an earlier version's build left it: no model recorded (MiniLM wrote it).
    store.engine.set_metadata(
        collection, {**store.engine.metadata(collection), "embedding_model": None}
    )
    store.point_alias_at(collection)
    site.reset_counts()
    refused = sync()
    assert refused.result == "failed" and refused.failures == 1
    assert "built with the embedding model all-MiniLM-L6-v2" in refused.error
    assert "`ingest --rebuild PATH...`" in refused.error and "next `ingest sync`" in refused.error
    assert sum(site.requests.values()) == 0  # refused before reading the site

    # The rebuild holds the folders it was given; the site's validators describe the old index,
    # so the next sync reads every page again (a 304 would otherwise leave them out).
    assert Pipeline(store, embedder, SparseEncoder()).rebuild([SAMPLE_KB / "manuals" / "travel.md"])
    back = sync()
    assert (back.result, back.added, back.full) == ("ok", 4, True)
    assert {"Handbook", "Travel", "Laptops", "Parking", "Travel Policy"} <= set(texts(store))


def test_a_reindex_rebuilds_the_folders_and_the_next_sync_brings_the_site_back(
    sync, store, embedder
):
    manual = SAMPLE_KB / "manuals" / "travel.md"
    Pipeline(store, embedder, SparseEncoder()).run([manual])
    sync()
    # What /kb reindex reads: the folder, not the source (`source:handbook` is no path).
    assert sources_to_reindex(IngestSettings(), store) == [manual.resolve()]
    assert reindex(store, embedder, [manual]).rebuilt
    assert "Handbook" not in texts(store)
    back = sync()
    assert (back.result, back.added) == ("ok", 4)
    assert {"Handbook", "Travel Policy"} <= set(texts(store))
