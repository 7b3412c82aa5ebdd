"""`bot serve`: Slack in Socket Mode, or the WSGI app (bot/web/app.py: Slack and the HTTP API) on a threaded HTTP server."""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys

from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.deps import Deps, load_local_models, screen_ahead
from bot.errors import BotError
from bot.slack.listeners import create_app
from bot.web.admission import Admission
from bot.web.app import wsgi_app
from bot.web.http_server import http_server

log = logging.getLogger(__name__)


def serve(deps: Deps, agent, http: bool = False, port: int = 3000) -> int:
    """Slack in Socket Mode (SLACK_APP_TOKEN), else HTTP: Slack's events when Slack is set up,
    and the HTTP API; `--http` with no Slack settings serves the HTTP API alone."""
    settings = deps.settings
    # `kill -USR1 PID` prints every thread's stack on stderr: what a stuck worker is waiting for.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # SIGTERM (docker stop, systemd, Kubernetes) stops as Ctrl-C does: answers under way finish and the
    # last spans are exported. Its default would kill at once; and a worker started in the background by
    # a shell ignores SIGINT, so SIGTERM is the stop that always arrives.
    signal.signal(signal.SIGTERM, _interrupt)
    load_local_models(deps)
    screen_ahead(deps)
    admission = Admission.for_settings(settings)
    app = None
    # `--http` with a bot token alone serves the API alone: the token resolves user groups.
    if not http or settings.slack_signing_secret:
        app = slack_app(deps, agent, admission)
        if app is not None:  # the weekly digest (DIGEST_CHANNEL, DIGEST_CRON)
            from bot.ops.digest import start_digest

            start_digest(deps, app.client)
    if app is not None and settings.slack_app_token and not http:
        from slack_bolt.adapter.socket_mode import (
            SocketModeHandler,  # websocket client: Socket Mode only
        )

        if deps.telemetry.metrics is not None and settings.metrics_port:
            from bot.ops.metrics import start_server  # prometheus-client: only with metrics on

            start_server(deps.telemetry.metrics, settings.metrics_port, deps.store)
            log.info("serving metrics at http://0.0.0.0:%d/metrics", settings.metrics_port)
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        return 0
    server = http_server(
        "0.0.0.0", port, wsgi_app(deps, app, agent, admission), settings.http_keepalive_s
    )
    routes = ["/slack/events"] * (app is not None) + [
        "/v1/ask",
        "/v1/chat/completions",
        "/mcp",
        "/healthz",
        "/metrics",
    ]
    # Said on stderr whatever the logging set-up: an operator (and a supervisor) sees it is up.
    print(usergroups_note(deps), file=sys.stderr, flush=True)
    print(f"listening at http://0.0.0.0:{port}: {', '.join(routes)}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        # Exiting joins the answer threads and flushes the last spans. Should anything hold the exit
        # past 30 s, print every thread's stack and exit anyway rather than leave a supervisor waiting.
        faulthandler.dump_traceback_later(30, exit=True)
    return 0


def usergroups_note(deps: Deps) -> str:
    if deps.access.usergroups is not None:
        return "user groups: resolved through SLACK_BOT_TOKEN (usergroups.users.list)"
    return (
        "user groups: no SLACK_BOT_TOKEN, so documents for usergroup:S... audiences are answered to nobody "
        "here (set SLACK_BOT_TOKEN, a token with usergroups:read, to resolve them)"
    )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def slack_app(deps: Deps, agent, admission: Admission):
    settings = deps.settings
    missing = [
        name
        for name, value in (
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
        )
        if not value
    ]
    if missing:
        raise BotError(
            f"Set {' and '.join(missing)} to serve Slack (see the README's Slack setup), or neither "
            "with `bot serve --http` to serve the HTTP API alone."
        )
    try:
        return create_app(deps, agent, admission=admission)
    except (BoltError, SlackApiError, OSError) as error:
        # bolt verifies the token with auth.test when the app is built.
        raise BotError(
            f"Slack did not accept SLACK_BOT_TOKEN at {settings.slack_api_url or WebClient.BASE_URL} ({error}). "
            "Check the token, the network, and SLACK_API_URL if you set it."
        ) from None
