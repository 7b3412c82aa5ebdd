"""The weekly digest posted to the admin channel, and owners of overdue verified answers told once,
against the Slack Web API on localhost."""

import pytest

from bot.chain.agent import Agent
from bot.chain.verified import Verified
from bot.deps import build_web_client
from bot.ops.digest import post_digest, start_digest


def test_the_digest_lists_what_waits_and_tells_each_overdue_owner_once(
    kb_settings, make_deps, fake_slack
):
    settings = kb_settings.replace(digest_channel="CADMIN", slack_api_url=fake_slack.api_url)
    deps = make_deps(settings)
    deps.verified.clock = lambda: "2026-12-07"
    entry = deps.verified.save(
        Verified(
            "is there parking for employees?",
            "Basement, 40 spaces.",
            "UOWNER",
            review_by="2026-12-01",
        )
    )
    agent = Agent(deps)
    agent.answer("is there parking for employees?", "d1")  # hits it past review-by: not served
    deps.escalations.open("Can I bring my dog?", "C1", "2.1", "U2")
    client = build_web_client("xoxb-test", fake_slack.api_url)
    post_digest(deps, client)
    digest, dm = fake_slack.wait_for("chat.postMessage", count=2)
    assert digest["channel"] == "CADMIN" and digest["text"].startswith("*Weekly digest*")
    assert "is there parking for employees?" in digest["text"]  # asked, not answered
    assert "Can I bring my dog?" in digest["text"] and "past review-by 2026-12-01" in digest["text"]
    assert (
        dm["channel"] == "UOWNER"
        and "due for review on 2026-12-01" in dm["text"]
        and entry.id in dm["text"]
    )
    post_digest(deps, client)
    assert [c["channel"] for c in fake_slack.wait_for("chat.postMessage", count=3)] == [
        "CADMIN",
        "UOWNER",
        "CADMIN",
    ]


def test_a_bad_cron_line_says_what_to_write(kb_settings, make_deps):
    deps = make_deps(kb_settings.replace(digest_channel="CADMIN", digest_cron="every monday"))
    with pytest.raises(ValueError, match="0 9 \\* \\* 1"):
        start_digest(deps, None)
