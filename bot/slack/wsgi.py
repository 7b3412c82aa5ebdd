"""Slack's events, commands and actions as a WSGI app, with a malformed body answered as a bad
request rather than a server error (bot/web/app.py mounts it at /slack/events)."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.events import MALFORMED

log = logging.getLogger(__name__)


def slack_wsgi(app: App):
    """Slack's events, commands and actions as a WSGI app (bot/web/app.py mounts it at /slack/events)."""
    slack = SlackRequestHandler(app)

    def reply(start_response, body: dict) -> list[bytes]:
        start_response("400 Bad Request", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def application(environ, start_response):
        try:
            return slack(environ, start_response)
        except UnicodeDecodeError:
            return reply(start_response, {"error": "the request body is not UTF-8 text"})
        except MALFORMED as error:
            # bolt parses the body before it checks the signature, and trusts its shape while it
            # does ("authorizations" as a string raises AttributeError): any of these is a bad request.
            log.warning("malformed request body: %s: %s", type(error).__name__, error)
            what = "valid JSON or form data" if isinstance(error, ValueError) else "a Slack payload"
            return reply(
                start_response,
                {"error": f"the request body is not {what} ({type(error).__name__}: {error})"},
            )

    return application
