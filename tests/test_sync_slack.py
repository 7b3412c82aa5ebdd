"""The Slack threads connector against a fake Slack Web API on localhost."""

import pytest

from ingest.connectors.slack import SlackThreads
from ingest.pipeline import Pipeline
from ingest.settings import IngestSettings
from ingest.sync.config import Source
from ingest.sync.runner import sync_source
from ingest.sync.state import SyncState
from knowledge.sparse import SparseEncoder
from tests.fakes.json_api import Reply
from tests.fakes.slack_history import FakeSlackHistory

TOKEN = "xoxb-sync-1"


def msg(ts, text, user="U1", thread=None, **extra):
    return {
        "ts": ts,
        "text": text,
        "user": user,
        **({"thread_ts": thread} if thread else {}),
        **extra,
    }


@pytest.fixture
def slack():
    with FakeSlackHistory(TOKEN) as server:
        server.channels = {
            "C0HELP": {
                "name": "help-it",
                "is_private": False,
                "messages": [
                    msg("1000.000100", "How do I reset my VPN password?"),
                    msg(
                        "1000.000200",
                        "Use the self-service portal, then restart the client.",
                        "U2",
                        "1000.000100",
                    ),
                    msg("1000.000300", "Thanks, that worked", "U1", "1000.000100"),
                    msg("1000.000400", "Anyone at the office today?"),  # no reply: not knowledge
                    msg("1001.000100", "Where is the printer on floor 3?"),
                    msg("1001.000200", "Next to the kitchen.", "U3", "1001.000100"),
                    msg(
                        "1001.000300",
                        "I answered this from the knowledge base.",
                        "UBOT",
                        "1001.000100",
                        bot_id="B1",
                    ),
                    msg("1002.000100", "Who approves travel?"),
                    msg(
                        "1002.000200",
                        "Your manager, in the travel tool.",
                        "U4",
                        "1002.000100",
                    ),
                ],
            },
            "G0PRIV": {
                "name": "hr-private",
                "is_private": True,
                "messages": [
                    msg("1000.000500", "When are salary reviews?"),
                    msg("1000.000600", "In March, every year.", "U5", "1000.000500"),
                ],
            },
        }
        yield server


@pytest.fixture
def sync(store, embedder, redis_client, redis_prefix, slack):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    state = SyncState(redis_client, redis_prefix)
    source = Source(name="threads", kind="slack", where=["C0HELP", "G0PRIV"], tags=["slack"])

    def run(token=TOKEN, **options):
        settings = IngestSettings(slack_sync_token=token, slack_sync_api_url=slack.api_url)
        return sync_source(source, SlackThreads(source, settings), pipeline, state, **options)

    return run


def threads(store) -> dict[str, object]:
    return {c.title: c for c in store.chunks()}


def test_threads_with_replies_become_documents_with_the_channels_audience(sync, slack, store):
    slack.fail_next(
        "conversations.history",
        Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}),
    )
    status = sync()
    assert (status.result, status.added) == ("ok", 4)
    found = threads(store)
    assert set(found) == {
        "How do I reset my VPN password?",
        "Where is the printer on floor 3?",
        "Who approves travel?",
        "When are salary reviews?",
    }
    vpn = found["How do I reset my VPN password?"]
    assert (
        "self-service portal" in vpn.text and vpn.audience == ["everyone"] and vpn.tags == ["slack"]
    )
    assert vpn.source == "https://slack.com/archives/C0HELP/p1000000100"
    assert (
        "knowledge base" not in found["Where is the printer on floor 3?"].text
    )  # the bot's own reply
    assert found["When are salary reviews?"].audience == ["channel:G0PRIV"]


def test_a_new_reply_updates_its_thread_and_only_that_thread_is_read_again(sync, slack, store):
    sync()
    slack.requests.clear()
    slack.channels["C0HELP"]["messages"].append(
        msg("1003.000100", "Or ask on #help-it.", "U6", "1000.000100")
    )
    status = sync()
    assert (status.full, status.updated, status.added) == (False, 1, 0)
    assert "Or ask on #help-it." in threads(store)["How do I reset my VPN password?"].text
    # That thread's replies only (two pages of them: the fake pages by two).
    assert [r.query["ts"] for r in slack.requests if r.path.endswith("conversations.replies")] == [
        "1000.000100"
    ] * 2


def test_a_deleted_thread_goes_on_a_full_pass_and_a_revoked_token_says_what_to_fix(
    sync, slack, store
):
    sync()
    slack.channels["C0HELP"]["messages"] = [
        m
        for m in slack.channels["C0HELP"]["messages"]
        if m.get("thread_ts", m["ts"]) != "1002.000100"
    ]
    status = sync(full=True)
    assert status.deleted == 1 and "Who approves travel?" not in threads(store)
    failed = sync(token="xoxb-revoked", full=True)
    assert (
        failed.result == "failed"
        and "invalid_auth" in failed.error
        and "SLACK_BOT_TOKEN" in failed.error
    )
    assert len(threads(store)) == 3
