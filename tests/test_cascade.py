"""The model cascade: tiers from a file, escalation on guard failure or low confidence, what
each answer cost and why each cheaper tier was rejected. Remote tiers are models on an
OpenAI-compatible server on localhost, called through the real `openai` client."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chain.agent import Agent
from bot.chain.answer_json import answer_json
from bot.chain.llm import build_chat
from bot.chain.tiers import Tier, load_tiers
from bot.errors import LLMUnavailable
from knowledge.access import Asker
from knowledge.errors import SettingsError
from tests.conftest import ROOT
from tests.env import settings_from

SHIPPED_TIERS = ROOT / "bot" / "chain" / "tiers.toml"
QUESTION = "How many vacation days do full-time employees get?"
GOOD = "Full-time employees get 25 vacation days per year [1]."


def reply(answer: str, sources: list[int], confidence: float = 0.9) -> str:
    return json.dumps({"answer": answer, "sources": sources, "confidence": confidence})


@pytest.fixture
def tiers(fake_openai):
    url = fake_openai.base_url
    return (
        Tier(
            "cheap",
            "small-model",
            url,
            price_input_per_1k=0.001,
            price_output_per_1k=0.002,
            max_passages=1,
            min_confidence=0.6,
            max_reasks=0,
        ),
        Tier("strong", "big-model", url, price_input_per_1k=0.01, price_output_per_1k=0.03),
    )


@pytest.fixture
def agent(kb_settings, tiers, make_deps):
    # The FAQ fast path and the cache are off here, so that every question reaches the cascade.
    return Agent(make_deps(kb_settings.replace(llm_tiers=tiers, faq_match=2.0, answer_cache=False)))


def models_called(fake_openai) -> list[str]:
    return [body["model"] for body in fake_openai.calls_to("/chat/completions")]


def test_the_cheap_tier_answers_when_its_answer_passes(agent, fake_openai):
    fake_openai.enqueue(reply(GOOD, [1]))
    answer = agent.answer(QUESTION)
    assert (answer.mode, answer.usage.tier, answer.usage.rejected) == ("llm", "cheap", ())
    assert models_called(fake_openai) == ["small-model"]
    usage = answer.usage
    assert usage.cost_usd == pytest.approx(
        usage.prompt_tokens * 0.001 / 1000 + usage.completion_tokens * 0.002 / 1000
    )


def test_an_ungrounded_cheap_answer_escalates_and_both_attempts_are_paid_for(agent, fake_openai):
    fake_openai.enqueue(
        reply("Full-time employees get 40 vacation days per year [1].", [1]), reply(GOOD, [1])
    )
    answer = agent.answer(QUESTION)
    assert models_called(fake_openai) == ["small-model", "big-model"]
    assert (
        answer.usage.tier == "strong"
        and "25 vacation days" in answer.text
        and "40" not in answer.text
    )
    [rejection] = answer.usage.rejected
    assert rejection.tier == "cheap" and "failed the output guards" in rejection.reason
    assert "not supported by the passages" in rejection.reason
    cheap, strong = [c["usage"] for c in fake_openai.responses()]
    expected = (
        cheap["prompt_tokens"] * 0.001
        + cheap["completion_tokens"] * 0.002
        + strong["prompt_tokens"] * 0.01
        + strong["completion_tokens"] * 0.03
    ) / 1000
    assert answer.usage.cost_usd == pytest.approx(expected, abs=1e-6)
    assert answer.usage.prompt_tokens == cheap["prompt_tokens"] + strong["prompt_tokens"]
    assert answer.guard_failures == 1


def test_a_valid_but_unsure_cheap_answer_escalates(agent, fake_openai):
    fake_openai.enqueue(reply(GOOD, [1], confidence=0.3), reply(GOOD, [1], confidence=0.95))
    answer = agent.answer(QUESTION)
    assert answer.usage.tier == "strong" and answer.confidence == 0.95
    assert answer.usage.rejected[0].reason == "confidence 0.30 is below the tier's 0.60"


def test_a_cheap_not_found_escalates_and_the_last_tiers_not_found_is_a_refusal(agent, fake_openai):
    fake_openai.enqueue(
        reply("The passages do not say.", [1], 0.0), reply("The passages do not say.", [1], 0.0)
    )
    answer = agent.answer("How many vacation days do interns get?")
    assert models_called(fake_openai) == ["small-model", "big-model"]
    assert answer.refused and answer.reason == "no_answer" and answer.usage.tier == "strong"
    assert answer.usage.rejected[0].reason == "the model found no answer in the passages"


@pytest.mark.parametrize("cited", [[9], [0]])
def test_a_declining_reply_citing_a_passage_it_was_not_shown_is_a_refusal_with_the_shown_ones(
    agent, fake_openai, cited
):
    fake_openai.enqueue(
        reply("The passages do not say.", [1], 0.0), reply("The passages do not say.", cited, 0.0)
    )
    answer = agent.answer("How many vacation days do interns get?")
    assert answer.refused and answer.reason == "no_answer" and answer.usage.tier == "strong"
    assert (
        answer.sources == []
    )  # neither [9] (not shown) nor [0] (which would be the last passage shown)


def test_when_every_tier_fails_the_best_passage_is_quoted_and_every_rejection_is_recorded(
    agent, fake_openai
):
    fake_openai.enqueue("Sure, 25 days!", "25 days", reply("25 days [8]", [8]))
    answer = agent.answer(QUESTION)
    assert answer.mode == "extractive" and "could not be verified" in answer.text
    assert [r.tier for r in answer.usage.rejected] == ["cheap", "strong"]
    assert answer.usage.tier == "extractive" and answer.usage.cost_usd > 0
    as_json = answer_json(answer)["usage"]
    assert [r["tier"] for r in as_json["rejected"]] == ["cheap", "strong"]
    assert agent.deps.usage.today()["rejected:strong"] == 1
    # Three drafts failed the guards (cheap's one, strong's first and its re-ask); the report sees them.
    record = agent.deps.turns.get(answer.turn_id)
    assert (record.guard_failures, record.tier, record.cost_usd) == (
        3,
        "extractive",
        answer.usage.cost_usd,
    )


def test_each_tier_gets_a_prompt_fitted_to_its_own_budget(agent, fake_openai):
    fake_openai.enqueue(reply(GOOD, [1], 0.1))
    agent.answer(QUESTION)
    cheap, strong = fake_openai.prompts()
    assert "[1] " in cheap[1]["content"] and "\n[2] " not in cheap[1]["content"]
    assert "\n[2] " in strong[1]["content"]


def test_a_model_is_shown_only_the_passages_close_to_the_best(
    kb_settings, tiers, make_deps, fake_openai
):
    deps = make_deps(kb_settings.replace(llm_tiers=tiers[1:], faq_match=2.0, answer_cache=False))

    def strong_prompt(margin: float) -> str:
        deps.settings = deps.settings.replace(passage_margin=margin)
        fake_openai.enqueue(reply(GOOD, [1]))
        Agent(deps).answer(QUESTION)
        return fake_openai.prompts()[-1][1]["content"]

    assert "\n[2] " in strong_prompt(1.0)  # every passage above MIN_RELEVANCE
    narrow = strong_prompt(0.0)
    assert "[1] " in narrow and "\n[2] " not in narrow


def test_a_spent_channel_budget_leaves_only_the_free_tiers(
    kb_settings, tiers, make_deps, fake_openai
):
    free = replace(tiers[0], name="free", price_input_per_1k=0.0, price_output_per_1k=0.0)
    settings = kb_settings.replace(
        llm_tiers=(free, tiers[1]), faq_match=2.0, answer_cache=False, channel_daily_budget_usd=1e-9
    )
    agent = Agent(make_deps(settings))
    fake_openai.enqueue(
        reply(GOOD, [1], 0.1)
    )  # the free tier is unsure: the strong one is paid for
    first = agent.answer(QUESTION, asker=Asker(channel="C9"))
    fake_openai.enqueue(reply(GOOD, [1], 0.1))
    second = agent.answer(QUESTION, asker=Asker(channel="C9"))
    assert first.usage.tier == "strong"
    assert second.mode == "extractive" and second.usage.rejected[0].tier == "free"
    assert any("free tiers only" in note for note in second.notes)
    assert models_called(fake_openai) == ["small-model", "big-model", "small-model"]


def test_the_shipped_tiers_file_loads_with_keys_from_the_named_variable():
    tiers = load_tiers(SHIPPED_TIERS, {"OPENAI_API_KEY": "sk-test"})
    assert [t.name for t in tiers] == ["local", "cheap", "strong"]
    assert tiers[0].local and tiers[0].free and tiers[0].api_key == "sk-test"
    assert tiers[2].price_input_per_1k > tiers[1].price_input_per_1k
    settings = settings_from({"LLM_TIERS": str(SHIPPED_TIERS)}, env_file=None)
    assert settings.llm_enabled and settings.tiers == tuple(replace(t, api_key="") for t in tiers)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[[tier]]\nname = 'x'\nmodel = 'm'\ncolour = 'red'\n", "unknown keys \\['colour'\\]"),
        ("[[tier]]\nname = 'x'\n", "needs a name and a model"),
        (
            "[[tier]]\nname = 'x'\nmodel = 'm'\nprice_input_per_1k = 'cheap'\n",
            "price_input_per_1k must be float",
        ),
        ("name = 'x'\n", "no \\[\\[tier\\]\\] tables"),
        ("[[tier]\n", "cannot be read"),
    ],
)
def test_a_bad_tiers_file_says_what_to_fix(tmp_path, text, problem):
    path = tmp_path / "tiers.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=problem):
        settings_from({"LLM_TIERS": str(path)}, env_file=None)


def test_a_missing_local_model_file_is_a_clear_error():
    with pytest.raises(LLMUnavailable, match="does not exist; fix `gguf`"):
        build_chat(
            Tier("local", "m", gguf=str(Path("/nowhere/model.gguf"))), models_dir=Path("/nowhere")
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_circuit_opens_after_failures_in_a_row_and_lets_one_probe_through_later(
    redis_client, redis_prefix
):
    from bot.chain.breaker import CircuitBreaker

    clock = Clock()
    workers = [
        CircuitBreaker(redis_client, redis_prefix, "cheap", failures=3, cooldown_s=30, clock=clock)
        for _ in range(2)
    ]
    first, second = workers
    first.failed(), first.failed()
    first.succeeded()  # in a row: a success in between starts the count again
    first.failed(), second.failed()
    assert first.allow() and first.state().state == "closed"
    second.failed()
    assert (first.allow(), second.allow()) == (
        False,
        False,
    )  # one worker's failures spare the other
    assert first.state().describe() == "circuit open after 3 failures in a row; next probe in 30s"
    clock.now += 31
    assert [first.allow(), second.allow()] == [True, False]  # half-open: exactly one probe
    first.failed()  # the probe failed: open again for a whole cooldown
    assert not second.allow() and second.state().retry_in_s == 30
    clock.now += 31
    assert second.allow()
    second.succeeded()
    assert first.allow() and first.state().describe() == "circuit closed"


def test_a_dead_tier_stops_costing_time_once_its_circuit_is_open(
    kb_settings, tiers, make_deps, fake_openai
):
    import socket

    with (
        socket.socket() as probe
    ):  # a port nothing listens on: connection refused, like a dead endpoint
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    dead = replace(tiers[0], name="dead", base_url=dead_url, max_retries=0, breaker_failures=2)
    agent = Agent(
        make_deps(
            kb_settings.replace(llm_tiers=(dead, tiers[1]), faq_match=2.0, answer_cache=False)
        )
    )
    answers = [agent.answer(QUESTION) for _ in range(3)]
    assert all(a.usage.tier == "strong" and "25 vacation days" in a.text for a in answers)
    assert all(any("model server of tier dead failed" in n for n in a.notes) for a in answers[:2])
    assert any(
        "Tier dead skipped: circuit open after 2 failures in a row" in n for n in answers[2].notes
    )
    from bot.slack.slash_commands import circuits

    assert circuits(agent.deps)[0].startswith(
        "*Tier `dead`*: circuit open after 2 failures"
    )  # in /kb status
    assert circuits(agent.deps)[1] == "*Tier `strong`*: circuit closed"


def test_a_rate_limited_call_is_retried_before_the_next_tier_is_asked(agent, fake_openai):
    fake_openai.enqueue(
        (429, {"error": {"message": "slow down", "type": "rate_limit"}}), reply(GOOD, [1])
    )
    answer = agent.answer(QUESTION)
    assert models_called(fake_openai) == ["small-model", "small-model"]
    assert answer.usage.tier == "cheap" and answer.usage.rejected == ()
