"""Faults while answering: Redis stopped halfway through a conversation, a reply Slack would
not take. Each ends in exactly one reply, and everything resumes without a restart."""

import socket
import subprocess

import pytest

from bot.chain.agent import Agent
from bot.deps import build_web_client
from bot.slack.listeners import create_app
from bot.web.app import health
from knowledge.access import Asker
from tests.slack_helpers import mention, signed


class PrivateRedis:
    """A redis-server of the test's own, so stopping it harms nobody else."""

    def __init__(self, directory) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for (
            line
        ) in self.process.stdout:  # its own word that it listens, not a guess at how long it takes
            if "Ready to accept connections" in line:
                return
        raise RuntimeError(f"redis-server on port {self.port} exited with {self.process.wait()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def outage_settings(kb_settings, private_redis):
    return kb_settings.replace(redis_url=private_redis.url)


def slack_app(make_deps, settings, fake_slack):
    """The Slack app answering before it responds, so what it posted is known when dispatch returns."""
    settings = settings.replace(
        slack_bot_token="xoxb-test",
        slack_signing_secret="test-signing-secret",
        slack_api_url=fake_slack.api_url,
    )
    deps = make_deps(settings)
    app = create_app(
        deps,
        Agent(deps),
        client=build_web_client("xoxb-test", fake_slack.api_url),
        process_before_response=True,
    )
    return settings, deps, app


def test_redis_stopped_mid_conversation_answers_without_memory_and_recovers(
    outage_settings, make_deps, private_redis
):
    deps = make_deps(outage_settings)
    agent = Agent(deps)
    first = agent.answer("How much is the home office budget?", "C1:1")
    assert not first.refused and not any("unavailable" in n for n in first.notes)

    private_redis.stop()
    during = agent.answer("How much can I spend on a hotel?", "C1:1", Asker(channel="C1"))
    assert "150 EUR" in during.text
    assert any(n.startswith("thread memory unavailable") for n in during.notes)
    assert any(n.startswith("usage totals unavailable") for n in during.notes)
    assert any(n.startswith("channel scopes unavailable") for n in during.notes)
    assert health(deps)[0].startswith("503")

    private_redis.start()  # same port: the clients reconnect by themselves
    after = agent.answer("Which class can I fly in?", "C1:2", Asker(channel="C1"))
    assert not any("unavailable" in n for n in after.notes)
    assert [t.question for t in deps.memory.recent("C1:2")] == ["Which class can I fly in?"]
    assert deps.usage.today("C1")["answers"] == 1
    assert health(deps)[0].startswith("200")


def test_a_read_redis_refuses_costs_only_its_own_part(kb_settings, make_deps, redis_client):
    """The channel's scope and the thread's memory come in one round trip; one of them failing
    (a key of the wrong type) does not cost the other."""
    deps = make_deps(kb_settings)
    agent = Agent(deps)
    redis_client.set(f"{kb_settings.redis_prefix}thread:C1:1", "not a list")
    broken_memory = agent.answer("How much can I spend on a hotel?", "C1:1", Asker(channel="C1"))
    assert "150 EUR" in broken_memory.text
    assert any(n.startswith("thread memory unavailable") for n in broken_memory.notes)
    assert not any(n.startswith("channel scopes unavailable") for n in broken_memory.notes)

    redis_client.set(f"{kb_settings.redis_prefix}channel-scopes", "not a hash")
    broken_scopes = agent.answer("Which class can I fly in?", "C1:2", Asker(channel="C1"))
    assert any(n.startswith("channel scopes unavailable") for n in broken_scopes.notes)
    assert not any(n.startswith("thread memory unavailable") for n in broken_scopes.notes)
    assert [t.question for t in deps.memory.recent("C1:2")] == ["Which class can I fly in?"]


def test_a_mention_while_redis_is_down_gets_exactly_one_reply(
    outage_settings, make_deps, private_redis, fake_slack
):
    _settings, _deps, app = slack_app(make_deps, outage_settings, fake_slack)
    private_redis.stop()
    assert app.dispatch(signed(mention("<@UBOT> how much can I spend on a hotel?"))).status == 200
    [post] = fake_slack.calls_to("chat.postMessage")
    assert "150 EUR" in post["text"]


def test_a_reply_slack_refused_releases_the_event_so_its_retry_is_answered_once(
    kb_settings, make_deps, fake_slack
):
    _settings, _deps, app = slack_app(make_deps, kb_settings, fake_slack)
    body = mention("<@UBOT> how do I report a phishing email?")
    fake_slack.errors["chat.postMessage"] = "fatal_error"
    assert app.dispatch(signed(body)).status != 200  # Slack will retry this delivery
    del fake_slack.errors["chat.postMessage"]
    assert app.dispatch(signed(body)).status == 200
    assert app.dispatch(signed(body)).status == 200
    assert (
        len(fake_slack.calls_to("chat.postMessage")) == 2
    )  # the refused one and the retry; no third


def test_an_unexpected_failure_is_an_apology_with_the_error_id_in_the_log(
    kb_settings, make_deps, fake_slack, caplog, redis_client
):
    settings, _deps, app = slack_app(make_deps, kb_settings, fake_slack)
    # A thread's memory that no version of the bot could read (a hand edit, a half-written key).
    redis_client.rpush(f"{settings.redis_prefix}thread:C1:1700000000.000100", "{not json")
    assert app.dispatch(signed(mention("<@UBOT> how do I report a phishing email?"))).status == 200
    [post] = fake_slack.calls_to("chat.postMessage")
    error_id = post["text"].rsplit("error id ", 1)[1].rstrip(")")
    assert post["text"].startswith("Sorry, something went wrong") and len(error_id) == 8
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_reindex_asked_for_while_redis_is_down_is_refused_and_the_index_keeps_serving(
    outage_settings, make_deps, private_redis
):
    from bot.slack.reindexer import Reindexer

    deps = make_deps(outage_settings)
    private_redis.stop()
    reply = Reindexer(deps).start("UADMIN", lambda text: None)
    assert (
        reply.startswith("I cannot reindex while Redis is unreachable") and "keeps serving" in reply
    )
    assert "150 EUR" in Agent(deps).answer("How much can I spend on a hotel?").text
