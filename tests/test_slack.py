"""The Slack edge through bolt's real request handling, with signed requests, against a
Slack Web API on localhost that records chat.postMessage."""

import json

import pytest

from knowledge.e5 import E5Engine
from knowledge.embeddings import SERVING_BATCH
from tests.slack_helpers import (
    ADMIN,
    SECRET,
    click,
    first_answer,
    free_port,
    mention,
    message,
    scrape,
    signed,
    signed_http,
    slash,
    submit_reason,
)


def sample_documents() -> int:
    """Markdown pages plus FAQ rows in the sample knowledge base."""
    from tests.conftest import SAMPLE_KB

    with (SAMPLE_KB / "faq.csv").open() as faq:
        rows = sum(1 for _ in faq) - 1
    return len(list(SAMPLE_KB.rglob("*.md"))) + rows


def test_mention_is_answered_in_its_thread_with_numbered_sources(app, fake_slack):
    response = app.dispatch(signed(mention("<@UBOT> how do I report a phishing email?")))
    assert response.status == 200
    [post] = fake_slack.wait_for("chat.postMessage")
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000000.000100"
    blocks = post["blocks"]
    assert "Report phish" in blocks[0]["text"]["text"]
    sources = blocks[1]["text"]["text"]
    assert sources.startswith("*Sources*")
    assert (
        "[1] <https://intranet.fjordlight.example/it/security#phishing|How do I report a phishing e-mail?>"
        in sources
    )
    assert blocks[2]["type"] == "context" and "mode: faq" in blocks[2]["elements"][0]["text"]
    assert blocks[3]["type"] == "context_actions"
    [buttons] = blocks[3]["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == "feedback"
    assert buttons["positive_button"]["value"].startswith("up:") and buttons["negative_button"][
        "value"
    ].startswith("down:")
    assert [e["action_id"] for e in blocks[4]["elements"]] == ["ask_expert"]


def test_mention_inside_a_thread_replies_in_that_thread(app, fake_slack):
    app.dispatch(
        signed(
            mention(
                "<@UBOT> how do I book a business trip?",
                ts="1700000050.000200",
                thread_ts="1700000000.000100",
            )
        )
    )
    [post] = fake_slack.wait_for("chat.postMessage")
    assert post["thread_ts"] == "1700000000.000100"


def test_follow_up_in_a_bot_thread_needs_no_mention(app, fake_slack):
    app.dispatch(signed(mention("<@UBOT> how much is the home office budget?")))
    fake_slack.wait_for("chat.postMessage")
    app.dispatch(
        signed(message("and for contractors?", "1700000100.000300", thread_ts="1700000000.000100"))
    )
    posts = fake_slack.wait_for("chat.postMessage", count=2)
    assert posts[1]["thread_ts"] == "1700000000.000100"
    assert "Contractors do not receive the home-office budget" in posts[1]["text"]


def test_direct_messages_are_answered_in_their_own_thread(app, fake_slack):
    """The agent view: each new message in the Messages tab is a conversation in its thread."""
    app.dispatch(
        signed(
            message(
                "how much can I spend on a hotel?",
                "1700000200.000100",
                channel="D1",
                channel_type="im",
            )
        )
    )
    [post] = fake_slack.wait_for("chat.postMessage")
    assert (
        post["channel"] == "D1"
        and post["thread_ts"] == "1700000200.000100"
        and "150 EUR" in post["text"]
    )


@pytest.mark.parametrize(
    "event",
    [
        {"thread_ts": "1600000000.000001"},  # a thread the bot never answered in
        {},  # plain channel chatter
        {"subtype": "message_changed"},  # an edit
        {"bot_id": "B2", "channel_type": "im"},  # another bot, even in a DM
        {"user": "UBOT", "channel_type": "im"},  # ourselves: never loop
        {"subtype": "file_share", "channel_type": "im"},
    ],
)
def test_messages_not_for_the_bot_are_ignored(app, fake_slack, event):
    response = app.dispatch(
        signed(message("how much can I spend on a hotel?", "1700000300.000100", **event))
    )
    assert response.status == 200
    assert fake_slack.calls_to("chat.postMessage") == []


def test_message_that_mentions_the_bot_is_answered_once(app, fake_slack):
    ts = "1700000400.000100"
    app.dispatch(signed(mention("<@UBOT> which class can I fly in?", ts)))
    app.dispatch(signed(message("<@UBOT> which class can I fly in?", ts)))
    fake_slack.wait_for("chat.postMessage")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_bad_signature_is_rejected_and_nothing_is_posted(app, fake_slack):
    response = app.dispatch(signed(mention("<@UBOT> hello"), secret="wrong-secret"))
    assert response.status == 401
    assert fake_slack.calls_to("chat.postMessage") == []


def test_url_verification_is_answered(app):
    response = app.dispatch(
        signed({"type": "url_verification", "challenge": "abc123", "token": "x"})
    )
    assert response.status == 200 and "abc123" in response.body


ONE_FAQ_ANSWER = 'kb_answers_total{mode="faq",reason="",refused="false",variant="answer-v1"} 1.0'


def test_bot_serve_http_answers_a_signed_mention(kb_settings, fake_slack, tmp_path):
    import os
    import urllib.request

    from tests.serve import Serve  # it imports this module's signing helpers

    serving = Serve(
        dict(
            os.environ,
            QDRANT_PATH=str(kb_settings.knowledge.qdrant_path),
            REDIS_URL=kb_settings.redis_url,
            REDIS_PREFIX=kb_settings.redis_prefix,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake_slack.api_url,
        ),
        free_port(),
    )
    try:
        serving.wait_ready()
        assert (
            serving.post(json.dumps(mention("<@UBOT> which password manager should I use?"))) == 200
        )
        [post] = fake_slack.wait_for("chat.postMessage", timeout=60)
        assert "1Password" in post["text"] and post["thread_ts"] == "1700000000.000100"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{serving.port}/healthz", timeout=5
        ) as response:
            health = json.loads(response.read())
        assert (
            response.status == 200 and health["ok"] and health["knowledge_base"].startswith("kb-")
        )
        assert ONE_FAQ_ANSWER in scrape(serving.port)
    finally:
        serving.stop()


def test_bot_serve_in_socket_mode_acks_and_answers_an_event(kb_settings, fake_slack):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.fakes.socket_mode import FakeSocketMode

    metrics_port = free_port()
    with FakeSocketMode() as socket_mode:
        fake_slack.socket_url = socket_mode.url
        env = dict(
            os.environ,
            QDRANT_PATH=str(kb_settings.knowledge.qdrant_path),
            REDIS_URL=kb_settings.redis_url,
            REDIS_PREFIX=kb_settings.redis_prefix,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_APP_TOKEN="xapp-test",
            SLACK_API_URL=fake_slack.api_url,
            METRICS_PORT=str(metrics_port),
        )
        server = subprocess.Popen(
            [Path(sys.executable).parent / "bot", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            socket_mode.deliver("env-1", mention("<@UBOT> which password manager should I use?"))
            assert socket_mode.wait_for_ack("env-1", timeout=120) == {"envelope_id": "env-1"}
            [post] = fake_slack.wait_for("chat.postMessage", timeout=60)
            assert "1Password" in post["text"] and post["thread_ts"] == "1700000000.000100"
            assert fake_slack.calls_to("apps.connections.open")  # the app token opened the socket
            assert server.poll() is None
            assert ONE_FAQ_ANSWER in scrape(metrics_port)
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_a_redelivered_event_is_answered_once(app, fake_slack):
    body = mention("<@UBOT> how many vacation days do I get?", ts="1700000500.000100")
    assert app.dispatch(signed(body)).status == 200
    assert (
        app.dispatch(
            signed(body, x_slack_retry_num="1", x_slack_retry_reason="http_timeout")
        ).status
        == 200
    )
    fake_slack.wait_for("chat.postMessage")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_an_answer_whose_blocks_fail_to_render_is_still_posted_once_as_text(
    app, fake_slack, monkeypatch
):
    def broken(answer):
        raise ValueError("a rendering bug")

    monkeypatch.setattr("bot.slack.replies.answer_blocks", broken)
    app.dispatch(
        signed(mention("<@UBOT> how much is the home-office budget?", ts="1700000600.000100"))
    )
    [post] = fake_slack.wait_for("chat.postMessage")
    assert "500 EUR" in post["text"] and not post.get("blocks")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_answers_carry_feedback_buttons_and_a_click_is_stored_with_its_turn(app, fake_slack, turns):
    post = first_answer(app, fake_slack, "how many vacation days do I get?", "1700000600.000100")
    turn_id = click(app, fake_slack, post, "feedback_up")
    [thanks] = fake_slack.wait_for("/response/fb")
    assert thanks["response_type"] == "ephemeral" and thanks["text"] == "Thanks, glad it helped!"
    assert fake_slack.calls_to("views.open") == []
    assert [f.rating for f in turns.feedback(turn_id)] == ["up"]
    turn = turns.get(turn_id)
    assert (turn.question, turn.channel, turn.mode) == (
        "how many vacation days do I get?",
        "C1",
        "faq",
    )
    # The same user changing their mind replaces the rating; the 👎 evicts the cached answer.
    assert click(app, fake_slack, post, "feedback_down") == turn_id
    assert [f.rating for f in turns.feedback(turn_id)] == ["down"]
    app.dispatch(
        signed(mention("<@UBOT> how many vacation days do I get?", ts="1700000602.000100"))
    )
    again = fake_slack.wait_for("chat.postMessage", count=2)[1]
    assert "mode: faq" in json.dumps(again["blocks"])


def test_a_thumbs_down_opens_a_modal_whose_reason_is_stored_next_to_the_rating(
    app, fake_slack, turns
):
    post = first_answer(app, fake_slack, "how much can I spend on a hotel?", "1700000610.000100")
    turn_id = click(app, fake_slack, post, "feedback_down")
    [opened] = fake_slack.wait_for("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert opened["trigger_id"] == "trigger-1" and view["private_metadata"] == turn_id
    assert (
        "reviewed" not in json.dumps(view)
        and "feedback report" in view["blocks"][0]["text"]["text"]
    )
    options = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert options == ["wrong", "outdated", "incomplete", "other"]
    assert fake_slack.calls_to("/response/fb") == []  # the modal is the reply
    assert [(f.rating, f.reason) for f in turns.feedback(turn_id)] == [("down", "")]

    # "other" needs words; nothing is stored until the user fixes it.
    reply = submit_reason(app, fake_slack, view, "other", "  ")
    assert reply == {
        "response_action": "errors",
        "errors": {"comment": "Say what was wrong, or pick another reason."},
    }
    assert [f.reason for f in turns.feedback(turn_id)] == [""]
    assert submit_reason(app, fake_slack, view, None, "")["errors"] == {
        "reason": "Pick what was wrong with the answer."
    }

    assert (
        submit_reason(
            app,
            fake_slack,
            view,
            "outdated",
            "The limit is 180 EUR since May, ask jane.doe@example.com",
        )
        == {}
    )
    [stored] = turns.feedback(turn_id)
    assert (stored.rating, stored.reason) == ("down", "outdated")
    assert stored.comment == "The limit is 180 EUR since May, ask [EMAIL]"
    # A second 👎 from the same user keeps the reason they gave.
    click(app, fake_slack, post, "feedback_down", trigger_id="trigger-3")
    assert [(f.rating, f.reason) for f in turns.feedback(turn_id)] == [("down", "outdated")]


def test_when_the_modal_cannot_open_the_thumbs_down_is_still_stored_and_acknowledged(
    app, fake_slack, turns
):
    fake_slack.errors["views.open"] = "expired_trigger_id"
    post = first_answer(app, fake_slack, "which class can I fly in?", "1700000620.000100")
    turn_id = click(app, fake_slack, post, "feedback_down")
    [thanks] = fake_slack.wait_for("/response/fb")
    assert thanks["response_type"] == "ephemeral" and "feedback report" in thanks["text"]
    assert "reviewed" not in thanks["text"]
    assert [f.rating for f in turns.feedback(turn_id)] == ["down"]


def test_users_over_the_rate_limit_are_told_to_wait(make_app, slack_settings, fake_slack):
    app = make_app(slack_settings.replace(rate_limit_per_minute=1))
    app.dispatch(
        signed(mention("<@UBOT> how many vacation days do I get?", ts="1700000700.000100"))
    )
    app.dispatch(signed(mention("<@UBOT> and sick days?", ts="1700000701.000100")))
    posts = fake_slack.wait_for("chat.postMessage", count=2)
    assert sorted("wait a minute" in p["text"] for p in posts) == [False, True]


def test_kb_status_and_reindex_are_for_admins_only(app, fake_slack):
    app.dispatch(slash("reindex", "U42", fake_slack))
    [refusal] = fake_slack.wait_for("/response/cmd")
    assert "Only admins" in refusal["text"] and refusal["response_type"] == "ephemeral"
    assert app.reindexer.thread is None

    app.dispatch(
        signed(mention("<@UBOT> how many vacation days do I get?", ts="1700000650.000100"))
    )
    fake_slack.wait_for("chat.postMessage")
    app.dispatch(slash("status", ADMIN, fake_slack))
    status = fake_slack.wait_for("/response/cmd", count=2)[1]["text"]
    assert f"*Documents*: {sample_documents()}" in status and "extractive" in status
    assert "*Today*: 1 answer · $0.00 · faq 100%" in status


def test_kb_report_is_for_admins_and_names_what_nobody_answered(app, fake_slack):
    app.dispatch(slash("report", "U42", fake_slack))
    assert "Only admins" in fake_slack.wait_for("/response/cmd")[0]["text"]
    first_answer(app, fake_slack, "is there parking for employees?", "1700000660.000100")
    app.dispatch(slash("report", ADMIN, fake_slack))
    report = fake_slack.wait_for("/response/cmd", count=2)[1]["text"]
    assert report.startswith("*Last 7 days*")
    assert "*Answers*: 1 · refused 100% (no_answer 1)" in report
    assert "1. 1x “is there parking for employees?”" in report
    app.dispatch(slash("report forty", ADMIN, fake_slack))
    assert (
        "takes a number of days from 1 to 30"
        in fake_slack.wait_for("/response/cmd", count=3)[2]["text"]
    )


def test_an_admin_reindex_rebuilds_in_the_background_and_reports(
    app, fake_slack, slack_settings, monkeypatch
):
    batches = []  # what each call of the engine was given: questions wait for the one under way
    embed = E5Engine.embed
    monkeypatch.setattr(
        E5Engine,
        "embed",
        lambda engine, texts, **kw: batches.append(len(texts)) or embed(engine, texts, **kw),
    )
    app.dispatch(slash("reindex", ADMIN, fake_slack))
    started = fake_slack.wait_for("/response/cmd")[0]["text"]
    assert started.startswith("Reindex started from") and "knowledge/sample" in started
    app.reindexer.thread.join(timeout=120)
    texts = [c["text"] for c in fake_slack.calls_to("/response/cmd")]
    assert any(t.startswith("Reindex: 50%") for t in texts)
    assert (
        texts[-1].startswith(f"Reindex finished: added {sample_documents()}")
        and "is now serving" in texts[-1]
    )
    store = app.reindexer.deps.store
    assert store.previous_collection() is not None and store.count() > 0
    assert sum(batches) >= store.count() and max(batches) == SERVING_BATCH
    exposition = app.reindexer.deps.telemetry.metrics.render(store)[0].decode()
    assert f"kb_ingest_chunks_total {float(store.count())}" in exposition
    assert f"kb_index_documents {float(sample_documents())}" in exposition


def test_kb_forget_clears_the_callers_conversations(app, fake_slack, redis_client, slack_settings):
    from bot.chain.thread_memory import ThreadMemory

    app.dispatch(
        signed(mention("<@UBOT> how much is the home office budget?", ts="1700000800.000100"))
    )
    fake_slack.wait_for("chat.postMessage")
    memory = ThreadMemory(redis_client, slack_settings.redis_prefix, max_turns=10, ttl_s=60)
    assert memory.recent("C1:1700000800.000100")
    app.dispatch(slash("forget", "U42", fake_slack))
    [reply] = fake_slack.wait_for("/response/cmd")
    assert reply["text"] == "Done: I forgot 1 conversation with you."
    assert memory.recent("C1:1700000800.000100") == []


def test_the_assistant_view_greets_shows_status_and_answers_in_its_thread(app, fake_slack):
    started = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event_id": "EvA1",
        "authorizations": [{"user_id": "UBOT"}],
        "event": {
            "type": "assistant_thread_started",
            "event_ts": "1700000900.000001",
            "assistant_thread": {
                "user_id": "U42",
                "channel_id": "D9",
                "thread_ts": "1700000900.000100",
                "context": {},
            },
        },
    }
    assert app.dispatch(signed(started)).status == 200
    [greeting] = fake_slack.wait_for("chat.postMessage")
    assert greeting["channel"] == "D9" and greeting["thread_ts"] == "1700000900.000100"
    [prompts] = fake_slack.wait_for("assistant.threads.setSuggestedPrompts")
    from tests.conftest import SAMPLE_KB

    faq = (SAMPLE_KB / "faq.csv").read_text(encoding="utf-8")
    assert len(prompts["prompts"]) == 3 and all(
        p["message"] in faq for p in prompts["prompts"]
    )  # from the index

    question = message(
        "how much can I spend on a hotel?",
        "1700000901.000100",
        channel="D9",
        channel_type="im",
        thread_ts="1700000900.000100",
    )
    question["event_id"] = "EvA2"
    assert app.dispatch(signed(question)).status == 200
    posts = fake_slack.wait_for("chat.postMessage", count=2)
    assert "150 EUR" in posts[1]["text"] and posts[1]["thread_ts"] == "1700000900.000100"
    [status] = fake_slack.calls_to("assistant.threads.setStatus")[:1]
    assert status["status"] == "Searching the knowledge base..."


def test_malformed_and_oversized_input_never_crashes(app, fake_slack):
    # No event, or one no listener takes: bolt says it has no handler for it (404), and nothing is posted.
    assert app.dispatch(signed({"type": "event_callback", "event_id": "EvX"})).status == 404
    unknown = mention("hi", ts="1700001000.000100")
    unknown["event"]["type"] = "pin_added"
    assert app.dispatch(signed(unknown)).status == 404
    assert fake_slack.calls_to("chat.postMessage") == []
    huge = mention("<@UBOT> " + "why " * 10_000, ts="1700001001.000100")
    assert app.dispatch(signed(huge)).status == 200
    [post] = fake_slack.wait_for("chat.postMessage")
    assert "characters long; please ask in under 4,000 characters" in post["text"]


def test_the_manifest_subscribes_to_everything_the_app_listens_for():
    import yaml

    from tests.conftest import ROOT

    manifest = yaml.safe_load((ROOT / "bot" / "slack" / "manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {
        "app_mention",
        "message.im",
        "message.channels",
        "assistant_thread_started",
        "app_home_opened",
    } <= events
    assert manifest["features"]["agent_view"][
        "agent_description"
    ]  # the Messages tab of the agent view
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/kb"]
    # usergroups:read: documents for a user group are resolved with usergroups.users.list.
    assert {"chat:write", "assistant:write", "commands", "usergroups:read"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )
    assert manifest["settings"]["interactivity"]["is_enabled"], (
        "feedback buttons need interactivity"
    )


def wsgi_call(application, path: str, raw: str | None = None) -> tuple[str, bytes]:
    """A GET of `path`, or a signed POST of `raw`, straight into a WSGI app."""
    import io
    from wsgiref.util import setup_testing_defaults

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "POST" if raw else "GET"}
    setup_testing_defaults(environ)
    if raw:
        headers = signed_http(raw)
        environ.update(
            {
                "wsgi.input": io.BytesIO(raw.encode()),
                "CONTENT_LENGTH": str(len(raw.encode())),
                "CONTENT_TYPE": headers["content-type"][0],
            }
        )
        environ.update({f"HTTP_{k.upper().replace('-', '_')}": v[0] for k, v in headers.items()})
    status = []
    body = b"".join(application(environ, lambda s, headers: status.append(s)))
    return status[0], body


def test_the_http_endpoint_rejects_malformed_bodies_and_reports_health(app):
    from bot.web.app import wsgi_app

    application = wsgi_app(app.reindexer.deps, app)

    def call(path: str, raw: str | None = None) -> tuple[str, dict]:
        status, body = wsgi_call(application, path, raw)
        return status, json.loads(body or b"{}")

    status, body = call("/slack/events", "this is not json")
    assert status.startswith("400") and "not valid JSON" in body["error"]
    status, health = call("/healthz")
    assert status.startswith("200") and health == {
        "ok": True,
        "redis": True,
        "knowledge_base": app.reindexer.deps.store.serving_collection(),
    }


def test_metrics_on_the_http_server_agree_with_what_was_answered_and_rated(app, fake_slack):
    from prometheus_client.parser import text_string_to_metric_families

    from bot.web.app import wsgi_app

    app.dispatch(
        signed(mention("<@UBOT> how many vacation days do I get?", ts="1700000900.000100"))
    )
    fake_slack.wait_for("chat.postMessage")  # one at a time: this test counts, it does not race
    app.dispatch(
        signed(mention("<@UBOT> who won the football world cup in 1954?", ts="1700000901.000100"))
    )
    posts = fake_slack.wait_for("chat.postMessage", count=2)
    assert len(posts) == 2
    answered = next(p for p in posts if "mode: faq" in json.dumps(p["blocks"]))
    click(app, fake_slack, answered, "feedback_down")
    fake_slack.wait_for("views.open")  # the listener counted the 👎 before it opened the modal
    status, body = wsgi_call(wsgi_app(app.reindexer.deps, app), "/metrics")
    assert status == "200 OK"
    answers = {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "kb_answers_total"
    }
    assert answers == {
        (
            ("mode", "extractive"),
            ("reason", "no_answer"),
            ("refused", "true"),
            ("variant", "answer-v1"),
        ): 1,
        (("mode", "faq"), ("reason", ""), ("refused", "false"), ("variant", "answer-v1")): 1,
    }
    assert 'kb_feedback_total{rating="down",variant="answer-v1"} 1.0' in body.decode()


def test_kb_why_shows_an_admin_how_an_answer_was_made(app, fake_slack):
    app.dispatch(
        signed(mention("<@UBOT> how many vacation days do I get?", ts="1700000950.000100"))
    )
    [post] = fake_slack.wait_for("chat.postMessage")
    context = next(b for b in post["blocks"] if b["type"] == "context")["elements"][0]["text"]
    short = context.rsplit("turn ", 1)[1]
    assert len(short) == 8 and "http" not in context
    app.reindexer.deps.telemetry.flush()
    app.dispatch(slash(f"why {short}", "U42", fake_slack))
    app.dispatch(slash(f"why {short}", ADMIN, fake_slack))
    refused, why = [c["text"] for c in fake_slack.wait_for("/response/cmd", count=2)]
    assert "Only admins" in refused
    assert (
        why.startswith("```\nturn ")
        and "├─ retrieve" in why
        and "kb.prompt.variant = answer-v1" in why
    )


def test_a_wsgi_server_builds_the_app_from_the_environment(slack_settings, fake_slack, monkeypatch):
    from bot.web.app import wsgi_from_env

    for name, value in {
        "QDRANT_PATH": str(slack_settings.knowledge.qdrant_path),
        "REDIS_URL": slack_settings.redis_url,
        "REDIS_PREFIX": slack_settings.redis_prefix,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_settings.slack_api_url,
    }.items():
        monkeypatch.setenv(name, value)
    application = (
        wsgi_from_env()
    )  # what `gunicorn 'bot.web.app:wsgi_from_env()'` calls in each worker
    raw = json.dumps(mention("<@UBOT> how many vacation days do I get?", ts="1700000990.000100"))
    assert wsgi_call(application, "/slack/events", raw)[0].startswith("200")
    fake_slack.wait_for("chat.postMessage")
    status, body = wsgi_call(application, "/metrics")
    assert status == "200 OK" and ONE_FAQ_ANSWER in body.decode()
