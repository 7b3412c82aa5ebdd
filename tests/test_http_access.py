"""The HTTP API as a worker with no Slack events to serve: `bot serve --http` with a bot token
alone resolves Slack user groups for the askers its keys name, so a document restricted to a
user group is answered to its members over the API too. A real worker process, real Qdrant
and Redis, Slack's Web API on localhost."""

import json
import os
import urllib.request

from bot.web.api_keys import ApiKeys
from tests.conftest import ISOLATED_ENV
from tests.serve import Serve
from tests.slack_helpers import free_port

QUESTION = "When does the security on-call rotation hand over?"


def ask(port: int, key: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/ask",
        data=json.dumps({"question": QUESTION}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_an_api_only_worker_with_a_bot_token_resolves_user_groups(
    restricted_settings, fake_slack, redis_client
):
    settings = restricted_settings
    fake_slack.usergroups["SSEC"] = ["U7"]
    keys = ApiKeys(redis_client, settings.redis_prefix)
    member, other = (
        keys.add("member", user="U7", channel="CGEN"),
        keys.add("other", user="U9", channel="CGEN"),
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in ISOLATED_ENV},
        "QDRANT_PATH": str(settings.knowledge.qdrant_path),
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "RATE_LIMIT_PER_MINUTE": "0",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fake_slack.api_url,
    }  # no signing secret: no Slack events
    serve = Serve(env, free_port())
    try:
        serve.wait_ready()
        assert any("user groups: resolved through SLACK_BOT_TOKEN" in line for line in serve.output)
        assert "Kestrel" in ask(serve.port, member)["answer"]
        assert "Kestrel" not in ask(serve.port, other)["answer"]
        assert [call["usergroup"] for call in fake_slack.calls_to("usergroups.users.list")] == [
            "SSEC"
        ]
    finally:
        serve.stop()
