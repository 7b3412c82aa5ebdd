"""Talking to the Slack edge in tests: signed requests as Slack sends them, the events and
interactions users cause, a free port and a metrics scrape; and the fixtures of a Slack app
(tests/conftest.py makes them every test's)."""

import json
import time
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.chain.agent import Agent
from bot.deps import build_web_client
from bot.slack.listeners import create_app

SECRET = "test-signing-secret"
ADMIN = "UADMIN"


@pytest.fixture
def slack_settings(kb_settings, fake_slack):
    return kb_settings.replace(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        slack_admin_users=frozenset({ADMIN}),
    )


@pytest.fixture
def make_app(make_deps):
    def make(settings):
        deps = make_deps(settings, metrics=True)  # as `bot serve` builds them
        # Listeners finish before dispatch returns, so "nothing was posted" is a fact when it is
        # checked, not a hope after a sleep; a late wrong reply fails the test.
        return create_app(
            deps,
            Agent(deps),
            client=build_web_client(
                settings.slack_bot_token.get_secret_value(), settings.slack_api_url
            ),
            process_before_response=True,
        )

    return make


@pytest.fixture
def app(make_app, slack_settings):
    return make_app(slack_settings)


@pytest.fixture
def turns(redis_client, slack_settings):
    from bot.chain.turn_log import TurnLog

    return TurnLog(redis_client, slack_settings.redis_prefix)


def signed_http(
    raw: str, secret: str = SECRET, content_type: str = "application/json", **headers: str
) -> dict[str, list[str]]:
    """The headers Slack sends with `raw`, signed with `secret`."""
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=raw)
    return {
        "content-type": [content_type],
        "x-slack-request-timestamp": [timestamp],
        "x-slack-signature": [signature],
        **{k.replace("_", "-"): [v] for k, v in headers.items()},
    }


def signed(
    body: dict | str, secret: str = SECRET, content_type: str = "application/json", **headers: str
) -> BoltRequest:
    raw = body if isinstance(body, str) else json.dumps(body)
    return BoltRequest(body=raw, headers=signed_http(raw, secret, content_type, **headers))


def slash(text: str, user: str, fake_slack) -> BoltRequest:
    form = {
        "command": "/kb",
        "text": text,
        "user_id": user,
        "channel_id": "C1",
        "team_id": "T1",
        "response_url": f"{fake_slack.url}/response/cmd",
        "trigger_id": "t1",
        "token": "x",
    }
    return signed(urlencode(form), content_type="application/x-www-form-urlencoded")


def mention(text: str, ts: str = "1700000000.000100", **event) -> dict:
    return {
        "token": "x",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"Ev{ts.replace('.', '')}",
        "event_time": 1700000000,
        "authorizations": [{"user_id": "UBOT"}],
        "event": {
            "type": "app_mention",
            "user": "U42",
            "text": text,
            "ts": ts,
            "channel": "C1",
            "event_ts": ts,
            **event,
        },
    }


def message(text: str, ts: str, **event) -> dict:
    body = mention(text, ts)
    body["event"] = {
        "type": "message",
        "user": "U42",
        "text": text,
        "ts": ts,
        "channel": "C1",
        "channel_type": "channel",
        "event_ts": ts,
        **event,
    }
    return body


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def interaction(payload: dict, fake_slack) -> BoltRequest:
    payload = {"user": {"id": "U42"}, "team": {"id": "T1"}, "api_app_id": "A1", **payload}
    return signed(
        urlencode({"payload": json.dumps(payload)}),
        content_type="application/x-www-form-urlencoded",
    )


def click(app, fake_slack, post: dict, action_id: str, trigger_id: str = "trigger-1"):
    """A click on Slack's 👍 (`feedback_up`) or 👎 (`feedback_down`) under `post`; the turn id rated."""
    [block] = [b for b in post["blocks"] if b["type"] == "context_actions"]
    [buttons] = block["elements"]
    button = buttons["positive_button" if action_id == "feedback_up" else "negative_button"]
    payload = {
        "type": "block_actions",
        "container": {"type": "message", "channel_id": "C1"},
        "channel": {"id": "C1"},
        "trigger_id": trigger_id,
        "response_url": f"{fake_slack.url}/response/fb",
        "actions": [
            {
                "type": "feedback_buttons",
                "action_id": buttons["action_id"],
                "block_id": block["block_id"],
                "value": button["value"],
                "action_ts": "1700000601.0",
            }
        ],
    }
    response = app.dispatch(interaction(payload, fake_slack))
    assert response.status == 200
    return button["value"].split(":", 1)[1]


def submit_reason(app, fake_slack, view: dict, reason: str | None, comment: str | None):
    """The user presses Send in the modal `view` (as views.open received it)."""
    values = {
        "reason": {
            "reason": {
                "type": "radio_buttons",
                "selected_option": {"value": reason} if reason else None,
            }
        },
        "comment": {"comment": {"type": "plain_text_input", "value": comment}},
    }
    payload = {
        "type": "view_submission",
        "trigger_id": "trigger-2",
        "view": {**view, "id": "V1", "state": {"values": values}},
    }
    response = app.dispatch(interaction(payload, fake_slack))
    assert response.status == 200
    return json.loads(response.body) if response.body else {}


def first_answer(app, fake_slack, question: str, ts: str) -> dict:
    app.dispatch(signed(mention(f"<@UBOT> {question}", ts=ts)))
    return fake_slack.wait_for("chat.postMessage")[0]
