"""Streamed replies through bolt's real request handling, against a Slack Web API on localhost
that implements chat.startStream / appendStream / stopStream: the steps and then the checked
answer, in order; a draft the output guards reject never reaching Slack; the fallback to one
message; Slack's feedback buttons; the agent view's suggested prompts."""

import json

import pytest

from bot.chain.agent import Agent
from bot.chain.tiers import Tier
from bot.deps import build_web_client
from bot.slack.listeners import create_app
from tests.slack_helpers import click, mention, message, signed

QUESTION = "How many vacation days do full-time employees get?"
REJECTED = "Full-time employees get 40 vacation days per year [1]."
"""A draft the output guards reject (its number is not in the passage)."""
GOOD = "Full-time employees get 25 vacation days per year [1]."


def reply(answer: str) -> str:
    return json.dumps({"answer": answer, "sources": [1], "confidence": 0.9})


@pytest.fixture
def model_app(slack_settings, fake_slack, fake_openai, make_deps):
    """An app whose answers come from a model (the FAQ path and the cache off), streaming on."""
    tier = Tier("strong", "big-model", fake_openai.base_url, max_reasks=1)
    settings = slack_settings.replace(llm_tiers=(tier,), faq_match=2.0, answer_cache=False)
    deps = make_deps(settings, metrics=True)
    fake_slack.streaming = True
    return create_app(
        deps,
        Agent(deps),
        client=build_web_client(
            settings.slack_bot_token.get_secret_value(), settings.slack_api_url
        ),
        process_before_response=True,
    )


def stream_calls(fake_slack) -> list[tuple[str, dict]]:
    """The calls a reply made, in order, by method."""
    return [
        (path.rsplit("/", 1)[-1], body)
        for path, body in fake_slack.calls
        if path.rsplit("/", 1)[-1].startswith("chat.")
    ]


def tasks_of(body: dict) -> list[tuple[str, str, str]]:
    return [
        (c["id"], c["status"], c["title"])
        for c in body.get("chunks") or []
        if c["type"] == "task_update"
    ]


def test_a_model_answer_streams_its_steps_then_the_checked_answer(
    model_app, fake_slack, fake_openai
):
    fake_openai.enqueue(
        reply(REJECTED), reply(GOOD)
    )  # the first draft fails the guards, its re-ask passes
    assert model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}"))).status == 200
    calls = stream_calls(fake_slack)
    methods = [method for method, _ in calls]
    assert methods[0] == "chat.startStream" and methods[-1] == "chat.stopStream"
    assert set(methods[1:-1]) == {"chat.appendStream"} and "chat.postMessage" not in methods
    start = calls[0][1]
    assert (start["channel"], start["thread_ts"]) == ("C1", "1700000000.000100")
    assert (
        start["recipient_user_id"],
        start["recipient_team_id"],
        start["task_display_mode"],
    ) == ("U42", "T1", "timeline")
    shown = [task for _, body in calls for task in tasks_of(body)]
    assert shown[0] == ("search", "in_progress", "Searching the handbook")
    found = shown[1]
    assert (
        found[:2] == ("search", "complete")
        and found[2].startswith("Found ")
        and "passages: " in found[2]
    )
    assert ("write", "in_progress", "Writing the answer") in shown and (
        "check",
        "in_progress",
        "Checking it against the sources",
    ) in shown
    # The found step links its passages.
    sources = [
        c.get("sources")
        for _, body in calls
        for c in body.get("chunks") or []
        if c.get("id") == "search" and c["status"] == "complete"
    ]
    assert sources[0] and all(
        s["type"] == "url" and s["url"].startswith("https://") for s in sources[0]
    )
    # The answer comes whole at the stop, after every step, with its steps completed.
    stop = calls[-1][1]
    text = [c["text"] for c in stop["chunks"] if c["type"] == "markdown_text"]
    assert len(text) == 1 and text[0].startswith(GOOD)
    assert ("check", "complete", "Checking it against the sources") in tasks_of(stop)
    assert [b["type"] for b in stop["blocks"]][-2:] == ["context_actions", "actions"]
    # The rejected draft was never on Slack, in any call, not even for a moment.
    assert len(fake_openai.calls_to("/chat/completions")) == 2
    assert "40 vacation days" not in json.dumps(fake_slack.calls)


def test_a_rejected_draft_never_reaches_slack_when_streaming_is_unavailable_either(
    model_app, fake_slack, fake_openai
):
    fake_slack.streaming = False
    fake_openai.enqueue(reply(REJECTED), reply(GOOD))
    model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}")))
    [post] = fake_slack.calls_to("chat.postMessage")
    assert "25 vacation days" in post["text"] and "40 vacation days" not in json.dumps(
        fake_slack.calls
    )
    assert fake_slack.calls_to("chat.appendStream") == fake_slack.calls_to("chat.stopStream") == []


def test_a_workspace_without_streaming_gets_one_message(model_app, fake_slack):
    fake_slack.streaming = False  # chat.startStream: unknown_method
    model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}")))
    assert len(fake_slack.calls_to("chat.startStream")) == 1  # tried once, not at every step
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post["thread_ts"] == "1700000000.000100" and "vacation days" in post["text"]
    assert [b["type"] for b in post["blocks"]][-2:] == ["context_actions", "actions"]


def test_a_stream_that_cannot_be_stopped_is_replaced_by_the_answer_not_followed_by_one(
    model_app, fake_slack
):
    fake_slack.errors["chat.stopStream"] = "streaming_state_conflict"
    model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}")))
    [update] = fake_slack.calls_to("chat.update")
    [_started] = fake_slack.calls_to("chat.startStream")
    assert (
        update["ts"] == "1001.000200"
        and update["channel"] == "C1"
        and "vacation days" in update["text"]
    )
    assert fake_slack.calls_to("chat.postMessage") == []


def test_steps_that_fail_midway_still_end_in_the_answer(model_app, fake_slack):
    fake_slack.errors["chat.appendStream"] = "ratelimited"
    model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}")))
    assert len(fake_slack.calls_to("chat.appendStream")) == 1  # no more steps once one failed
    [stop] = fake_slack.calls_to("chat.stopStream")
    assert (
        "vacation days" in json.dumps(stop["chunks"])
        and fake_slack.calls_to("chat.postMessage") == []
    )


def test_a_failure_while_answering_ends_the_stream_with_the_apology(
    model_app, fake_slack, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr("bot.chain.routing.answer_from", broken)
    model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}")))
    [stop] = fake_slack.calls_to("chat.stopStream")
    assert "something went wrong" in json.dumps(stop["chunks"])
    assert fake_slack.calls_to("chat.postMessage") == []


def test_the_status_carries_loading_messages_in_the_questions_language(model_app, fake_slack):
    model_app.dispatch(signed(mention("<@UBOT> 연차는 며칠인가요?")))
    [status] = fake_slack.calls_to("assistant.threads.setStatus")
    assert (
        status["status"] == "지식 베이스를 찾는 중..."
        and status["loading_messages"][0] == "핸드북을 찾는 중..."
    )


def test_a_streamed_answers_feedback_buttons_store_the_rating(model_app, fake_slack, turns):
    model_app.dispatch(signed(mention(f"<@UBOT> {QUESTION}")))
    [stop] = fake_slack.calls_to("chat.stopStream")
    turn_id = click(model_app, fake_slack, stop, "feedback_up")
    assert [f.rating for f in turns.feedback(turn_id)] == ["up"]
    assert turns.get(turn_id).question == QUESTION


def test_the_messages_tab_gets_faq_prompts_for_the_channel_not_a_thread(model_app, fake_slack):
    opened = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": "EvH1",
        "authorizations": [{"user_id": "UBOT"}],
        "event": {
            "type": "app_home_opened",
            "user": "U42",
            "channel": "D7",
            "tab": "messages",
            "event_ts": "1700000000.1",
        },
    }
    assert model_app.dispatch(signed(opened)).status == 200
    [prompts] = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert (
        prompts["channel_id"] == "D7"
        and "thread_ts" not in prompts
        and len(prompts["prompts"]) == 3
    )
    home = {**opened, "event_id": "EvH2", "event": {**opened["event"], "tab": "home"}}
    model_app.dispatch(signed(home))
    assert len(fake_slack.calls_to("assistant.threads.setSuggestedPrompts")) == 1


def test_a_dm_in_the_messages_tab_is_streamed_in_its_thread(model_app, fake_slack):
    model_app.dispatch(
        signed(message(QUESTION, "1700000300.000100", channel="D7", channel_type="im"))
    )
    [start] = fake_slack.calls_to("chat.startStream")
    assert (start["channel"], start["thread_ts"]) == ("D7", "1700000300.000100")
    assert len(fake_slack.calls_to("chat.stopStream")) == 1
