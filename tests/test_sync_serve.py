"""`bot serve --sync-sources`: a real worker runs sources.yaml on its schedule against a site on
localhost (its first run at start, the next when the schedule says), and its /metrics shows
each source's last sync, read from the status in Redis."""

from __future__ import annotations

import os
import time

from ingest.sync.state import Status, SyncState
from tests.fakes.website import FakeSite, page
from tests.redis_events import key_events
from tests.serve import Serve
from tests.slack_helpers import SECRET, free_port, scrape
from tests.test_telemetry import samples, value

SCHEDULE_S = 2


def wait_for(next_event, status_of, condition, what: str, timeout_s: float = 120) -> Status:
    """The status in Redis once `condition` holds, woken by each write of it (the worker's own
    record, not a guess at how long a sync takes)."""
    deadline = time.monotonic() + timeout_s
    status = status_of()
    while not condition(status):
        if next_event(deadline, "set") is None:
            raise AssertionError(f"no {what} within {timeout_s}s; last status: {status}")
        status = status_of()
    return status


def scrape_steady(port: int, status_of) -> tuple[dict, Status]:
    """/metrics and the status it showed: a scrape no run ended during (one may, every 2 s)."""
    for _ in range(20):
        before = status_of()
        figures = samples(scrape(port))
        if status_of() == before:
            return figures, before
    raise AssertionError("a sync ended during each of 20 scrapes")


def test_bot_serve_syncs_a_site_on_its_schedule_and_shows_it_on_metrics(
    kb_settings, redis_client, fake_openai, fake_slack, tmp_path
):
    pages = {
        "/docs/": page("Docs", "Start.", ["vpn.html", "wifi.html"]),
        "/docs/vpn.html": page("VPN", "Use the portal to reset the VPN password."),
        "/docs/wifi.html": page("Wi-Fi", "The guest network is called Fjord-Guest."),
    }
    with FakeSite(pages) as site:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n"
            f"  - {{name: docs, kind: website, where: '{site.url}/docs/', schedule: {SCHEDULE_S}s}}\n"
        )
        env = {
            **os.environ,
            "QDRANT_PATH": str(kb_settings.knowledge.qdrant_path),
            "REDIS_URL": kb_settings.redis_url,
            "REDIS_PREFIX": kb_settings.redis_prefix,
            "OPENAI_BASE_URL": fake_openai.base_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake_slack.api_url,
            "KB_SOURCES_FILE": str(sources),
        }
        state = SyncState(redis_client, kb_settings.redis_prefix)
        status_key = f"{kb_settings.redis_prefix}sync:status:docs"
        with key_events(redis_client, status_key) as next_event:
            serve = Serve(env, free_port(), "--sync-sources")
            try:
                serve.wait_ready()
                first = wait_for(
                    next_event, lambda: state.status("docs"), lambda s: s.last_run, "first sync"
                )
                assert (first.result, first.added, first.updated) == ("ok", 3, 0), first
                assert first.next_run == first.last_run + SCHEDULE_S

                site.pages["/docs/wifi.html"] = page(
                    "Wi-Fi", "The guest network is now Fjord-Visitors."
                )
                second = wait_for(
                    next_event,
                    lambda: state.status("docs"),
                    lambda s: s.last_run > first.last_run,
                    "second sync",
                )
                # Nobody asked for it: the schedule did, once the first run's next_run had come.
                assert second.last_run >= first.next_run
                assert (second.result, second.added, second.updated, second.unchanged) == (
                    "ok",
                    0,
                    1,
                    2,
                )

                figures, shown = scrape_steady(serve.port, lambda: state.status("docs"))
                source = {"source": "docs", "kind": "website"}
                assert value(figures, "kb_sync_ok", **source) == 1.0
                assert value(figures, "kb_sync_failures", **source) == 0.0
                assert (
                    value(figures, "kb_sync_last_run_timestamp_seconds", **source) == shown.last_run
                )
                assert (
                    value(figures, "kb_sync_next_run_timestamp_seconds", **source) == shown.next_run
                )
                for change in ("added", "updated", "deleted", "unchanged"):
                    assert value(figures, "kb_sync_documents", change=change, **source) == getattr(
                        shown, change
                    )
            finally:
                serve.stop()
