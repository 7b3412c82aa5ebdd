"""What `bot serve --http` serves, as one WSGI app: /healthz for probes, /metrics for
Prometheus, /slack/events when Slack is configured (bot/slack/listeners.py), the HTTP API under /v1/
(bot/web/api.py) and the MCP server at /mcp (bot/mcp_server/http.py). A production server
(gunicorn, uwsgi) hosts the same app:
`gunicorn -w 4 'bot.web.app:wsgi_from_env()'`.
"""

from __future__ import annotations

import json

from slack_bolt import App

from bot.chain.agent import Agent
from bot.deps import Deps, build_deps, load_local_models, screen_ahead
from bot.mcp_server.http import mcp_wsgi
from bot.settings import load_settings
from bot.slack.listeners import create_app
from bot.slack.wsgi import slack_wsgi
from bot.web.admission import Admission
from bot.web.api import HttpApi


def wsgi_app(
    deps: Deps, slack_app: App | None = None, agent=None, admission: Admission | None = None
):
    """Slack's routes with `slack_app`, the HTTP API with `agent`; both share `admission`."""
    slack = slack_wsgi(slack_app) if slack_app is not None else None
    api = mcp = None
    if agent is not None:
        shared = (
            admission
            or getattr(slack_app, "admission", None)
            or Admission.for_settings(deps.settings)
        )
        api = HttpApi(deps, agent, shared)
        mcp = mcp_wsgi(deps, agent, shared)

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return reply(start_response, *health(deps))
        if path == "/metrics" and environ.get("REQUEST_METHOD", "GET") == "GET":
            return metrics(deps, start_response)
        if api is not None and path.startswith("/v1/"):
            return api(environ, start_response)
        if mcp is not None and path == "/mcp":
            return mcp(environ, start_response)
        if (
            slack is not None
        ):  # bolt answers /slack/events, and says what is wrong with any other path
            return slack(environ, start_response)
        served = [
            *(["/slack/events"] if slack else []),
            *(["/v1/", "/mcp"] if api else []),
            "/healthz",
            "/metrics",
        ]
        return reply(
            start_response,
            "404 Not Found",
            {"error": f"no route {path}; this server serves {', '.join(served)}"},
        )

    return application


def reply(start_response, status: str, body: dict) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def metrics(deps: Deps, start_response) -> list[bytes]:
    if deps.telemetry.metrics is None:
        return reply(start_response, "404 Not Found", {"error": "metrics are off in this process"})
    body, content_type = deps.telemetry.metrics.render(deps.store)
    start_response("200 OK", [("Content-Type", content_type)])
    return [body]


def health(deps: Deps) -> tuple[str, dict]:
    """Redis answers and the store opens: 200, else 503 with what failed."""
    body: dict = {"ok": True}
    probes = {
        "redis": deps.redis.ping,
        "knowledge_base": lambda: deps.store.serving_collection() or "empty",
    }
    for name, probe in probes.items():
        try:
            body[name] = probe()
        except Exception as error:  # a probe reports, it does not raise
            body.update({name: f"{type(error).__name__}: {error}", "ok": False})
    return ("200 OK" if body["ok"] else "503 Service Unavailable"), body


def wsgi_from_env():
    """The WSGI app for a server that imports it, built from the environment in each worker:
    Slack when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set, and the HTTP API. With
    PROMETHEUS_MULTIPROC_DIR set, a scrape of any worker counts them all."""
    deps = build_deps(load_settings(), metrics=True)
    load_local_models(deps)
    screen_ahead(deps)
    agent, admission = Agent(deps), Admission.for_settings(deps.settings)
    slack_app = (
        create_app(deps, agent, admission=admission) if slack_configured(deps.settings) else None
    )
    return wsgi_app(deps, slack_app, agent, admission)


def slack_configured(settings) -> bool:
    return bool(settings.slack_bot_token and settings.slack_signing_secret)
