"""The Slack edge through bolt's real request handling, with signed requests, against a
Slack Web API on localhost that records chat.postMessage."""

import json
import time
from dataclasses import replace

import pytest
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.agent import Agent
from bot.slack import build_web_client, create_app

SECRET = "test-signing-secret"


@pytest.fixture
def app(kb_settings, make_deps, fake_slack):
    settings = replace(kb_settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                       slack_api_url=fake_slack.api_url)
    deps = make_deps(settings)
    return create_app(deps, Agent(deps), client=build_web_client(settings.slack_bot_token, settings.slack_api_url))


def signed(body: dict, secret: str = SECRET) -> BoltRequest:
    raw = json.dumps(body)
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=raw)
    headers = {"content-type": ["application/json"], "x-slack-request-timestamp": [timestamp],
               "x-slack-signature": [signature]}
    return BoltRequest(body=raw, headers=headers)


def mention(text: str, ts: str = "1700000000.000100", **event) -> dict:
    return {
        "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
        "event_id": f"Ev{ts.replace('.', '')}", "event_time": 1700000000, "authorizations": [{"user_id": "UBOT"}],
        "event": {"type": "app_mention", "user": "U42", "text": text, "ts": ts, "channel": "C1",
                  "event_ts": ts, **event},
    }


def test_mention_is_answered_in_its_thread_with_numbered_sources(app, fake_slack):
    response = app.dispatch(signed(mention("<@UBOT> how do I report a phishing email?")))
    assert response.status == 200
    [post] = fake_slack.wait_for("chat.postMessage")
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000000.000100"
    blocks = post["blocks"]
    assert "Report phish" in blocks[0]["text"]["text"]
    sources = blocks[1]["text"]["text"]
    assert sources.startswith("*Sources*")
    assert "[1] <https://intranet.fjordlight.example/it/security#phishing|How do I report a phishing e-mail?>" in sources
    assert blocks[-1]["type"] == "context" and "mode: faq" in blocks[-1]["elements"][0]["text"]


def test_mention_inside_a_thread_replies_in_that_thread(app, fake_slack):
    app.dispatch(signed(mention("<@UBOT> how do I book a business trip?", ts="1700000050.000200",
                                thread_ts="1700000000.000100")))
    [post] = fake_slack.wait_for("chat.postMessage")
    assert post["thread_ts"] == "1700000000.000100"


def message(text: str, ts: str, **event) -> dict:
    body = mention(text, ts)
    body["event"] = {"type": "message", "user": "U42", "text": text, "ts": ts, "channel": "C1",
                     "channel_type": "channel", "event_ts": ts, **event}
    return body


def test_follow_up_in_a_bot_thread_needs_no_mention(app, fake_slack):
    app.dispatch(signed(mention("<@UBOT> how much is the home office budget?")))
    fake_slack.wait_for("chat.postMessage")
    app.dispatch(signed(message("and for contractors?", "1700000100.000300", thread_ts="1700000000.000100")))
    posts = fake_slack.wait_for("chat.postMessage", count=2)
    assert posts[1]["thread_ts"] == "1700000000.000100"
    assert "Contractors do not receive the home-office budget" in posts[1]["text"]


def test_direct_messages_are_answered_directly(app, fake_slack):
    app.dispatch(signed(message("how much can I spend on a hotel?", "1700000200.000100", channel="D1",
                                channel_type="im")))
    [post] = fake_slack.wait_for("chat.postMessage")
    assert post["channel"] == "D1" and "thread_ts" not in post and "150 EUR" in post["text"]


@pytest.mark.parametrize("event", [
    {"thread_ts": "1600000000.000001"},                       # a thread the bot never answered in
    {},                                                       # plain channel chatter
    {"subtype": "message_changed"},                           # an edit
    {"bot_id": "B2", "channel_type": "im"},                   # another bot, even in a DM
    {"user": "UBOT", "channel_type": "im"},                   # ourselves: never loop
    {"subtype": "file_share", "channel_type": "im"},
])
def test_messages_not_for_the_bot_are_ignored(app, fake_slack, event):
    response = app.dispatch(signed(message("how much can I spend on a hotel?", "1700000300.000100", **event)))
    assert response.status == 200
    time.sleep(1.0)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_message_that_mentions_the_bot_is_answered_once(app, fake_slack):
    ts = "1700000400.000100"
    app.dispatch(signed(mention("<@UBOT> which class can I fly in?", ts)))
    app.dispatch(signed(message("<@UBOT> which class can I fly in?", ts)))
    fake_slack.wait_for("chat.postMessage")
    time.sleep(1.0)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_bad_signature_is_rejected_and_nothing_is_posted(app, fake_slack):
    response = app.dispatch(signed(mention("<@UBOT> hello"), secret="wrong-secret"))
    assert response.status == 401
    time.sleep(0.5)
    assert fake_slack.calls_to("chat.postMessage") == []


def test_url_verification_is_answered(app):
    response = app.dispatch(signed({"type": "url_verification", "challenge": "abc123", "token": "x"}))
    assert response.status == 200 and "abc123" in response.body


def test_bot_serve_http_answers_a_signed_mention(kb_settings, fake_slack, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, QDRANT_PATH=str(kb_settings.qdrant_path), REDIS_URL=kb_settings.redis_url,
               REDIS_PREFIX=kb_settings.redis_prefix, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET,
               SLACK_API_URL=fake_slack.api_url)
    server = subprocess.Popen([Path(sys.executable).parent / "bot", "serve", "--http", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        request = signed(mention("<@UBOT> which password manager should I use?"))
        deadline = time.time() + 120
        while True:
            try:
                http_request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/slack/events", data=request.raw_body.encode(),
                    headers={k: v[0] for k, v in request.headers.items()}, method="POST")
                with urllib.request.urlopen(http_request, timeout=5) as response:
                    assert response.status == 200
                break
            except (ConnectionError, urllib.error.URLError):
                assert server.poll() is None and time.time() < deadline, "bot serve did not start"
                time.sleep(0.5)
        [post] = fake_slack.wait_for("chat.postMessage", timeout=60)
        assert "1Password" in post["text"] and post["thread_ts"] == "1700000000.000100"
    finally:
        server.terminate()
        server.wait(timeout=10)
