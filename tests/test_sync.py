"""sources.yaml, `ingest sync` / `ingest status` / `ingest URL` end to end against a site on
localhost, the schedule (backoff, one run at a time) and the status in words."""

import json
import re
import threading
import time

import pytest

from ingest import cli
from ingest.pipeline import Pipeline
from ingest.settings import IngestSettings
from ingest.sync import report, watch
from ingest.sync.commands import sources_lines, sources_records
from ingest.sync.config import Source, SourcesFileError, load_sources
from ingest.sync.runner import backoff
from ingest.sync.state import Status, SyncState
from knowledge.sparse import SparseEncoder
from tests.fakes.website import FakeSite, page
from tests.redis_events import key_events


@pytest.fixture
def site():
    pages = {
        "/docs/": page("Docs", "Start.", ["vpn.html", "wifi.html"]),
        "/docs/vpn.html": page("VPN", "Use the portal to reset the VPN password."),
        "/docs/wifi.html": page("Wi-Fi", "The guest network is called Fjord-Guest."),
    }
    with FakeSite(pages) as server:
        yield server


@pytest.fixture
def env(monkeypatch, settings, redis_url, redis_prefix, tmp_path, site):
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"""
sources:
  - name: docs
    kind: website
    where: {site.url}/docs/
    schedule: 30m
    tags: [it]
    owner: U0OWNER
""")
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", redis_prefix)
    monkeypatch.setenv("KB_SOURCES_FILE", str(sources))
    return sources


def test_ingest_sync_then_status_then_a_dry_run(env, site, capsys):
    assert cli.main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "docs (website): ok: added 3, updated 0, deleted 0, unchanged 0 (full pass" in out

    site.pages["/docs/wifi.html"] = page("Wi-Fi", "The guest network is now called Fjord-Visitors.")
    assert cli.main(["sync", "--dry-run"]) == 0
    assert "dry run: added 0, updated 1, deleted 0, unchanged 2" in capsys.readouterr().out

    assert cli.main(["status", "--json"]) == 0
    [docs] = json.loads(capsys.readouterr().out)["synced_sources"]
    assert (docs["name"], docs["result"], docs["added"], docs["owner"]) == (
        "docs",
        "ok",
        3,
        "U0OWNER",
    )
    assert docs["next_run"] == pytest.approx(docs["last_run"] + 1800)
    assert cli.main(["status"]) == 0
    assert re.search(
        r"\n  docs \(website\): ok \d+s ago \(full, 4 requests, .*\): added 3, .*; next run in 2\dm\n",
        capsys.readouterr().out,
    )


def test_the_status_in_words_and_the_records_for_metrics_are_read_apart(
    env, redis_url, redis_prefix
):
    """/kb status reads the lines, a /metrics scrape the records: each only what it shows."""
    at = time.time()
    SyncState.connect(redis_url, redis_prefix).save_status(
        "docs", Status(result="failed", error="HTTP 503", last_run=at - 120, next_run=at + 600)
    )
    settings = IngestSettings.from_environment()
    assert sources_lines(settings)[1:] == ["  error: HTTP 503"]
    assert sources_lines(settings)[0].startswith("docs (website): failed 2m ago")
    [record] = sources_records(settings)
    assert (record["name"], record["kind"], record["result"]) == ("docs", "website", "failed")
    away = settings.model_copy(update={"sync_redis_url": "redis://127.0.0.1:1/0"})
    assert sources_records(away) == []
    [unreadable] = sources_lines(away)
    assert unreadable.startswith("sync status unreadable: Redis at REDIS_URL")
    alone = settings.model_copy(update={"sources_file": env.with_name("none.yaml")})
    assert sources_lines(alone) == sources_records(alone) == []


def test_one_run_at_a_time_across_workers(env, redis_url, redis_prefix, capsys):
    state = SyncState.connect(redis_url, redis_prefix)
    lock = state.lock()
    assert lock.acquire()
    try:
        assert cli.main(["sync"]) == 2
        assert "another sync is running" in capsys.readouterr().err
    finally:
        lock.release()
        state.close()


def test_the_lock_is_renewed_while_a_run_works_and_freed_after(redis_client, redis_prefix):
    ttl = 0.3
    worker, other = (SyncState(redis_client, redis_prefix, lock_ttl=ttl) for _ in range(2))
    with (
        key_events(redis_client, f"{redis_prefix}sync:lock") as next_event,
        worker.held_lock() as held,
    ):
        assert held
        started = time.monotonic()
        # A run four times the lock's lifetime: woken by each renewal, the other never gets it.
        while time.monotonic() - started < 4 * ttl:
            assert next_event(time.monotonic() + ttl, "expire") == "expire"  # renewed in time
            with other.held_lock() as taken:
                assert not taken
    with other.held_lock() as taken:
        assert taken


def test_ingest_a_url_crawls_the_site_as_a_source_of_its_own(env, site, capsys):
    assert cli.main([f"{site.url}/docs/", "--tag", "web"]) == 0
    out = capsys.readouterr().out
    assert "127.0.0.1-" in out and "added 3" in out


def test_unknown_source_and_a_token_in_the_file_are_refused(env, capsys):
    with pytest.raises(SystemExit):
        cli.main(["sync", "--source", "nope"])
    assert "no source named nope" in capsys.readouterr().err
    env.write_text(
        "sources:\n  - name: wiki\n    kind: notion\n    where: shared\n    token: secret_x\n"
    )
    assert cli.main(["sync"]) == 2
    assert "tokens go in the environment" in capsys.readouterr().err


def test_sources_file_errors_say_where_and_what(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: a\n    kind: website\n    where: https://x/\n    schedule: soon\n"
    )
    with pytest.raises(SourcesFileError, match="source 1: schedule: 'soon' is not a duration"):
        load_sources(path)
    path.write_text("sources:\n  - {name: a, kind: slack, where: [C1], audience: [team-a]}\n")
    with pytest.raises(SourcesFileError, match="audience 'team-a' is not one of"):
        load_sources(path)
    path.write_text(
        "sources:\n  - {name: a, kind: slack, where: [C1]}\n  - {name: a, kind: notion, where: shared}\n"
    )
    with pytest.raises(SourcesFileError, match="a appears twice"):
        load_sources(path)


def test_backoff_doubles_per_failure_up_to_a_day():
    assert [backoff(600, n) for n in range(4)] == [600, 1200, 2400, 4800]
    assert backoff(3600, 10) == 86400 and backoff(2 * 86400, 3) == 2 * 86400


def test_the_schedule_runs_what_is_due_and_says_a_failure_in_words(
    store, embedder, redis_client, redis_prefix
):
    state = SyncState(redis_client, redis_prefix)
    dead = Source(name="dead", kind="website", where="http://127.0.0.1:9/docs/", schedule="10m")
    later = Source(name="later", kind="website", where="http://127.0.0.1:9/other/", schedule="10m")
    state.save_status("later", Status(last_run=1.0, result="ok", next_run=4e9))
    assert [s.name for s in watch.due([dead, later], state, at=2e9)] == ["dead"]
    stop = threading.Event()
    seen = []
    watch.watch(
        [dead, later],
        Pipeline(store, embedder, SparseEncoder()),
        state,
        IngestSettings(),
        stop,
        tick=0.01,
        report=lambda source, status: (seen.append(status), stop.set()),
    )
    [status] = seen
    assert status.result == "failed" and "ConnectError" in status.error and status.failures == 1
    assert status.next_run == pytest.approx(status.last_run + 1200)  # backed off
    [line, error] = report.describe([dead], state, at=status.last_run + 60)[:2]
    assert (
        line.startswith("dead (website): failed 1m ago")
        and "next run in 19m (after 1 failed runs in a row)" in line
    )
    assert error == f"  error: {status.error}"


def test_the_schedule_waits_until_the_next_source_is_due(redis_client, redis_prefix):
    state = SyncState(redis_client, redis_prefix)
    sources = [
        Source(name=name, kind="website", where="http://127.0.0.1:9/") for name in ("a", "b")
    ]
    state.save_status("a", Status(next_run=100.0))
    state.save_status("b", Status(next_run=130.0))
    assert watch.until_due(sources, state, at=90.0, tick=30.0) == 10.0
    assert watch.until_due(sources, state, at=50.0, tick=30.0) == 30.0  # looks again by then
    assert watch.until_due(sources, state, at=120.0, tick=30.0) == watch.MIN_WAIT_S  # overdue


def test_a_source_without_its_token_fails_in_words_and_the_others_still_run(env, site, capsys):
    env.write_text(env.read_text() + "  - {name: wiki, kind: notion, where: shared}\n")
    assert cli.main(["sync"]) == 1
    out = capsys.readouterr().out
    assert "docs (website): ok: added 3" in out
    assert "wiki (notion): failed" in out and "NOTION_TOKEN is not set" in out
    assert cli.main(["status"]) == 0
    status = capsys.readouterr().out
    assert re.search(
        r"  wiki \(notion\): failed \d+s ago .*next run in \d+[mh] \(after 1 failed runs in a row\)",
        status,
    )
    assert "    error: source wiki: NOTION_TOKEN is not set; set NOTION_TOKEN" in status
