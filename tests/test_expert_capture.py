"""Capturing answers from Slack threads: a 📚 reaction on a reply, the "Save as answer" message
shortcut, and "Ask an expert" pressed while Redis is down (told to retry; nothing half-saved)."""

import json

from bot.chain.agent import Agent
from bot.deps import build_web_client
from bot.slack.listeners import create_app
from tests.slack_helpers import interaction, mention, signed
from tests.test_faults import outage_settings, private_redis  # noqa: F401 (fixtures)

PARENT = {
    "ts": "1765100000.000100",
    "user": "U42",
    "text": "Who orders new office chairs?",
}
REPLY = {
    "ts": "1765100050.000100",
    "thread_ts": PARENT["ts"],
    "user": "UFACILITY",
    "text": "Facilities does: file a ticket in the Facilities queue, delivery takes a week.",
}


def make(make_deps, settings, fake_slack):
    deps = make_deps(settings)
    app = create_app(
        deps,
        Agent(deps),
        client=build_web_client("xoxb-test", fake_slack.api_url),
        process_before_response=True,
    )
    return deps, app


def test_a_books_reaction_on_a_reply_makes_a_draft_of_the_thread(
    slack_settings,
    make_deps,
    fake_slack,
):
    deps, app = make(make_deps, slack_settings, fake_slack)
    fake_slack.threads[PARENT["ts"]] = [PARENT, REPLY]
    event = {
        "type": "reaction_added",
        "user": "U99",
        "reaction": "books",
        "item": {"type": "message", "channel": "C1", "ts": REPLY["ts"]},
        "event_ts": "1765100060.0",
    }
    body = {**mention("x"), "event_id": "EvReact1", "event": event}
    assert app.dispatch(signed(body)).status == 200
    [draft] = deps.verified.all(("draft",))
    assert (draft.question, draft.answer, draft.owner, draft.audience) == (
        PARENT["text"],
        REPLY["text"],
        "UFACILITY",
        ("channel:C1",),
    )
    [note] = fake_slack.wait_for("chat.postEphemeral")
    assert note["user"] == "U99" and "draft answer" in note["text"]
    other = {**body, "event_id": "EvReact2", "event": {**event, "reaction": "tada"}}
    assert app.dispatch(signed(other)).status == 200 and len(deps.verified.all(("draft",))) == 1


def test_save_as_answer_on_a_reply_makes_a_draft_and_on_a_parent_says_why_not(
    slack_settings,
    make_deps,
    fake_slack,
):
    deps, app = make(make_deps, slack_settings, fake_slack)
    fake_slack.threads[PARENT["ts"]] = [PARENT, REPLY]

    def shortcut(message: dict) -> str:
        payload = {
            "type": "message_action",
            "callback_id": "save_as_answer",
            "trigger_id": "t",
            "channel": {"id": "C1"},
            "message": message,
            "message_ts": message["ts"],
            "response_url": f"{fake_slack.url}/response/sc",
        }
        said = len(fake_slack.calls_to("/response/sc"))
        assert app.dispatch(interaction(payload, fake_slack)).status == 200
        replies = fake_slack.wait_for("/response/sc", count=said + 1)
        assert len(replies) == said + 1
        return replies[-1]["text"]

    assert "Only a reply in a thread" in shortcut(PARENT) and deps.verified.all(("draft",)) == []
    assert "draft answer" in shortcut(REPLY)
    [draft] = deps.verified.all(("draft",))
    assert (draft.question, draft.answer) == (PARENT["text"], REPLY["text"])
    assert draft.source == "https://example.slack.com/archives/C1/p1765100050000100"


def test_ask_an_expert_while_redis_is_down_says_retry_and_works_when_it_is_back(
    outage_settings,  # noqa: F811 (the fixtures imported above)
    private_redis,  # noqa: F811
    make_deps,
    fake_slack,
):
    settings = outage_settings.replace(
        slack_bot_token="xoxb-test",
        slack_signing_secret="test-signing-secret",
        slack_api_url=fake_slack.api_url,
        experts="<@UEXPERT>",
    )
    deps, app = make(make_deps, settings, fake_slack)
    app.dispatch(signed(mention("<@UBOT> is there parking for employees?", ts="1765100000.000100")))
    [answer] = fake_slack.wait_for("chat.postMessage")
    [button] = [
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ask_expert"
    ]
    payload = {
        "type": "block_actions",
        "user": {"id": "U42"},
        "channel": {"id": "C1"},
        "trigger_id": "t",
        "container": {"type": "message", "channel_id": "C1"},
        "response_url": f"{fake_slack.url}/response/x",
        "actions": [
            {
                "type": "button",
                "action_id": "ask_expert",
                "value": button["value"],
                "block_id": "b",
                "action_ts": "1.0",
            }
        ],
    }
    # Redis restarts empty: the turn's record is gone, the question is read back from the thread.
    fake_slack.threads[answer["thread_ts"]] = [
        {
            "ts": answer["thread_ts"],
            "user": "U42",
            "text": "<@UBOT> is there parking for employees?",
        }
    ]
    payload["message"] = {"ts": "1765100001.000100", "thread_ts": answer["thread_ts"]}
    private_redis.stop()
    assert app.dispatch(interaction(payload, fake_slack)).status == 200
    [told] = fake_slack.wait_for("/response/x")
    assert "nothing you wrote was lost" in told["text"] and told["response_type"] == "ephemeral"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # no half-made escalation
    private_redis.start()
    assert app.dispatch(interaction(payload, fake_slack)).status == 200
    assert "<@UEXPERT>" in fake_slack.wait_for("chat.postMessage", count=2)[1]["text"]
    assert [e.question for e in deps.escalations.all()] == ["is there parking for employees?"]
    assert json.loads(json.dumps(deps.escalations.all()[0].audience)) == ["channel:C1"]


def test_kb_experts_sets_who_is_mentioned_and_kb_verified_lists_and_retires(
    slack_settings,
    make_deps,
    fake_slack,
):
    from bot.chain.verified import Verified
    from tests.slack_helpers import ADMIN, slash

    deps, app = make(make_deps, slack_settings, fake_slack)
    app.dispatch(slash("experts <!subteam^S0FAC|@facilities>", "U42", fake_slack))
    assert "Only admins" in fake_slack.wait_for("/response/cmd")[0]["text"]
    app.dispatch(slash("experts <!subteam^S0FAC|@facilities>", ADMIN, fake_slack))
    assert fake_slack.wait_for("/response/cmd", count=2)[1]["text"] == (
        '"Ask an expert" in <#C1> now mentions <!subteam^S0FAC>.'
    )
    assert (
        deps.escalations.experts_of("C1") == "<!subteam^S0FAC>"
        and deps.escalations.experts_of("C2") == ""
    )
    entry = deps.verified.save(Verified("Who orders chairs?", "Facilities.", "UFACILITY"))
    app.dispatch(slash("verified", ADMIN, fake_slack))
    listed = fake_slack.wait_for("/response/cmd", count=3)[2]
    assert listed["text"] == "1 verified answers" and "Who orders chairs?" in json.dumps(
        listed["blocks"]
    )
    [retire] = [
        e
        for b in listed["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "verified_retire"
    ]
    payload = {
        "type": "block_actions",
        "user": {"id": ADMIN},
        "channel": {"id": "C1"},
        "trigger_id": "t",
        "container": {"type": "message", "channel_id": "C1"},
        "response_url": f"{fake_slack.url}/response/r",
        "actions": [
            {
                "type": "button",
                "action_id": "verified_retire",
                "value": retire["value"],
                "block_id": "b",
                "action_ts": "1.0",
            }
        ],
    }
    assert app.dispatch(interaction(payload, fake_slack)).status == 200
    assert fake_slack.wait_for("/response/r")[0]["text"].startswith("Retired")
    assert deps.verified.get(entry.id).status == "retired" and deps.verified.all() == []
