"""The expert loop, a week in Slack against the real service (bolt's request handling, real
Redis, the sample knowledge base, the real embedding model) and a Slack Web API on localhost:
refused on Monday, "Ask an expert", the expert's reply captured, an admin approves it (edited in
the modal), on Tuesday another user asks in other words and is served the verified answer with
its owner, and after its review-by date it is served no more."""

import json

import pytest

from bot.chain.agent import Agent
from bot.deps import build_web_client
from bot.slack.listeners import create_app
from tests.slack_helpers import ADMIN, interaction, mention, message, signed, slash

EXPERT = "UEXPERT"
ASKED = "is there parking for employees?"
REPLY = "Yes: 40 spaces in the basement. Ask facilities for a badge; first come, first served."


@pytest.fixture
def week(slack_settings, make_deps, fake_slack):
    app, deps = slack_app(make_deps, slack_settings.replace(experts=f"<@{EXPERT}>"))
    today = ["2026-12-07"]  # a Monday
    deps.verified.clock = lambda: today[0]
    return app, deps, today


def slack_app(make_deps, settings):
    deps = make_deps(settings, metrics=True)
    client = build_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    return create_app(deps, Agent(deps), client=client, process_before_response=True), deps


def click(
    app,
    fake_slack,
    blocks: list[dict],
    action_id: str,
    user: str,
    value: str | None = None,
) -> None:
    button = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id and (value is None or e["value"] == value)
    )
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": "C1"},
        "trigger_id": "trig",
        "container": {"type": "message", "channel_id": "C1"},
        "response_url": f"{fake_slack.url}/response/act",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "value": button["value"],
                "block_id": "b",
                "action_ts": "1.0",
            }
        ],
    }
    assert app.dispatch(interaction(payload, fake_slack)).status == 200


def metric(deps, name: str) -> float:
    return sum(
        sample.value
        for family in deps.telemetry.metrics.registry.collect()
        for sample in family.samples
        if sample.name == name
    )


def test_a_week_of_the_expert_loop(week, fake_slack):
    app, deps, today = week
    # Monday: nobody documented parking; the question is refused, with "Ask an expert".
    app.dispatch(signed(mention(f"<@UBOT> {ASKED}", ts="1765100000.000100")))
    [refusal] = fake_slack.wait_for("chat.postMessage")
    assert refusal["text"].startswith("I could not find this in the knowledge base")
    click(app, fake_slack, refusal["blocks"], "ask_expert", "U42")
    call = fake_slack.wait_for("chat.postMessage", count=2)[1]
    assert (
        call["thread_ts"] == "1765100000.000100"
        and f"<@{EXPERT}>" in call["text"]
        and ASKED in call["text"]
    )
    assert metric(deps, "kb_escalations_total") == 1 and metric(deps, "kb_review_queue") == 1

    # The expert answers in the thread: a draft, and the bot does not answer it as a follow-up.
    app.dispatch(
        signed(message(REPLY, "1765100100.000100", thread_ts="1765100000.000100", user=EXPERT))
    )
    saved = fake_slack.wait_for("chat.postMessage", count=3)[2]
    assert "draft answer" in saved["text"] and len(fake_slack.calls_to("chat.postMessage")) == 3
    [draft] = deps.verified.all(("draft",))
    assert (draft.question, draft.answer, draft.owner, draft.audience) == (
        ASKED,
        REPLY,
        EXPERT,
        ("channel:C1",),
    )
    assert draft.source.startswith("https://example.slack.com/archives/C1/p1765100100")
    # A draft is not served.
    app.dispatch(signed(mention(f"<@UBOT> {ASKED}", ts="1765100200.000100", user="U55")))
    assert fake_slack.wait_for("chat.postMessage", count=4)[3]["text"] != REPLY

    # An admin opens the review queue, edits the draft (a review-by date) and approves it.
    app.dispatch(slash("review", "U42", fake_slack))
    assert "Only admins" in fake_slack.wait_for("/response/cmd")[0]["text"]
    app.dispatch(slash("review", ADMIN, fake_slack))
    queue = fake_slack.wait_for("/response/cmd", count=2)[1]
    assert queue["text"] == "Review queue: 1 drafts, 0 waiting" and REPLY in json.dumps(
        queue["blocks"]
    )
    click(
        app, fake_slack, queue["blocks"], "review_approve", "U42"
    )  # not an admin: nothing happens
    assert "Only admins" in fake_slack.wait_for("/response/act")[0]["text"] and deps.verified.all(
        ("draft",)
    )
    click(app, fake_slack, queue["blocks"], "review_edit", ADMIN)
    [opened] = fake_slack.wait_for("views.open")
    values = {
        block["block_id"]: {block["block_id"]: {"value": block["element"].get("initial_value", "")}}
        for block in opened["view"]["blocks"]
    }
    values["review_by"]["review_by"]["value"] = "2026-12-31"
    submitted = app.dispatch(
        interaction(
            {
                "type": "view_submission",
                "user": {"id": ADMIN},
                "trigger_id": "t",
                "view": {**opened["view"], "id": "V1", "state": {"values": values}},
            },
            fake_slack,
        )
    )
    assert submitted.status == 200 and not submitted.body
    [approved] = deps.verified.all(("approved",))
    assert (approved.id, approved.review_by, approved.verified_on) == (
        draft.id,
        "2026-12-31",
        "2026-12-07",
    )
    assert metric(deps, "kb_review_queue") == 0

    # Tuesday: another user in the channel asks in other words, and is served it with its owner.
    today[0] = "2026-12-08"
    app.dispatch(
        signed(
            mention(
                "<@UBOT> Is there any parking for employees?",
                ts="1765190000.000100",
                user="U77",
            )
        )
    )
    served = fake_slack.wait_for("chat.postMessage", count=5)[4]
    assert served["text"] == REPLY
    assert f"Verified by <@{EXPERT}> on 2026-12-07" in json.dumps(served["blocks"])
    assert metric(deps, "kb_verified_answers_total") == 1
    # The channel's answer stays in the channel.
    app.dispatch(
        signed(mention(f"<@UBOT> {ASKED}", ts="1765190100.000100", user="U77", channel="C2"))
    )
    assert fake_slack.wait_for("chat.postMessage", count=6)[5]["text"] != REPLY

    # After its review-by date it is not served, and its owner is to be told.
    today[0] = "2027-01-01"
    app.dispatch(signed(mention(f"<@UBOT> {ASKED}", ts="1798761600.000100", user="U77")))
    assert fake_slack.wait_for("chat.postMessage", count=7)[6]["text"] != REPLY
    assert list(deps.verified.asked_overdue()) == [approved.id]


def test_a_user_groups_member_is_an_expert_and_someone_else_is_not(
    slack_settings, make_deps, fake_slack
):
    fake_slack.usergroups["S0FAC"] = [EXPERT]
    app, deps = slack_app(make_deps, slack_settings.replace(experts="<!subteam^S0FAC|@facilities>"))
    app.dispatch(signed(mention(f"<@UBOT> {ASKED}", ts="1765100000.000100")))
    [refusal] = fake_slack.wait_for("chat.postMessage")
    click(app, fake_slack, refusal["blocks"], "ask_expert", "U42")
    assert "<!subteam^S0FAC" in fake_slack.wait_for("chat.postMessage", count=2)[1]["text"]

    # A colleague outside the group chimes in: no draft (the bot takes it as a follow-up).
    app.dispatch(
        signed(
            message(
                "No idea, sorry.", "1765100050.000100", thread_ts="1765100000.000100", user="U77"
            )
        )
    )
    fake_slack.wait_for("chat.postMessage", count=3)
    assert deps.verified.all(("draft",)) == []
    # The group's member answers: captured.
    app.dispatch(
        signed(message(REPLY, "1765100100.000100", thread_ts="1765100000.000100", user=EXPERT))
    )
    assert "draft answer" in fake_slack.wait_for("chat.postMessage", count=4)[3]["text"]
    [draft] = deps.verified.all(("draft",))
    assert (draft.answer, draft.owner) == (REPLY, EXPERT)


def test_a_korean_thread_hears_the_loop_in_korean(week, fake_slack):
    app, deps, _ = week
    asked, reply = (
        "직원 주차장이 있나요?",
        "네, 지하에 40면이 있습니다. 시설팀에 출입증을 요청하세요.",
    )
    app.dispatch(signed(mention(f"<@UBOT> {asked}", ts="1765100000.000100")))
    [refusal] = fake_slack.wait_for("chat.postMessage")
    click(app, fake_slack, refusal["blocks"], "ask_expert", "U42")
    assert (
        "전문가의 답변을 기다립니다" in fake_slack.wait_for("chat.postMessage", count=2)[1]["text"]
    )
    app.dispatch(
        signed(message(reply, "1765100100.000100", thread_ts="1765100000.000100", user=EXPERT))
    )
    assert "검토용 초안" in fake_slack.wait_for("chat.postMessage", count=3)[2]["text"]
    [draft] = deps.verified.all(("draft",))
    deps.verified.approve(draft.id)

    app.dispatch(signed(mention(f"<@UBOT> {asked}", ts="1765190000.000100", user="U77")))
    served = fake_slack.wait_for("chat.postMessage", count=4)[3]
    assert served["text"] == reply
    assert f"<@{EXPERT}>님이 2026-12-07에 검증한 답변" in json.dumps(
        served["blocks"], ensure_ascii=False
    )
