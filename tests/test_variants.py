"""Versioned prompts and the A/B split: which prompt a thread gets, what is sent to the model,
and that the variant is recorded on the answer, the turn, the usage totals and the feedback."""

import json

import pytest

from bot.chain.agent import Agent
from bot.chain.answer_json import answer_json
from bot.chain.prompt_variants import PROMPTS_DIR, Variants, load_prompt
from bot.chain.turn_log import TurnLog
from bot.errors import PromptError
from knowledge.access import Asker
from knowledge.errors import SettingsError
from tests.env import settings_from

QUESTION = "How many vacation days do full-time employees get?"


def threads_by_variant(variants: Variants, count: int = 200) -> dict[str, list[str]]:
    split: dict[str, list[str]] = {}
    for number in range(count):
        thread = f"C1:{1700000000 + number}.000100"
        split.setdefault(variants.pick(thread).name, []).append(thread)
    return split


def test_a_prompts_version_is_its_name_and_content(tmp_path):
    shipped = load_prompt("answer-v1")
    assert (
        shipped.version.startswith("answer-v1@") and len(shipped.version) == len("answer-v1@") + 8
    )
    (tmp_path / "answer-v1.txt").write_text(shipped.text + "\n")
    assert (
        load_prompt("answer-v1", tmp_path).version == shipped.version
    )  # a trailing newline is not content
    (tmp_path / "answer-v1.txt").write_text(shipped.text.replace("Be brief", "Be short"))
    assert load_prompt("answer-v1", tmp_path).version != shipped.version
    assert load_prompt("answer-v2").text != shipped.text


def test_variants_split_threads_by_weight_and_every_worker_agrees():
    weights = (("answer-v1", 90), ("answer-v2", 10))
    worker_a, worker_b = Variants.load(weights), Variants.load(weights)
    split = threads_by_variant(worker_a, 2000)
    assert 0.07 < len(split["answer-v2"]) / 2000 < 0.13
    assert all(
        worker_b.pick(thread).name == name for name, threads in split.items() for thread in threads
    )
    assert set(threads_by_variant(Variants.load((("answer-v1", 100), ("answer-v2", 0))), 50)) == {
        "answer-v1"
    }


def test_bad_variant_settings_say_what_to_fix():
    assert settings_from(
        {"PROMPT_VARIANTS": "answer-v1:90, answer-v2:10"}, env_file=None
    ).prompt_variants == (("answer-v1", 90), ("answer-v2", 10))
    assert settings_from({}, env_file=None).prompt_variants == (("answer-v1", 100),)
    with pytest.raises(SettingsError, match="NAME:SHARE"):
        settings_from({"PROMPT_VARIANTS": "answer-v1:ninety"}, env_file=None)
    with pytest.raises(PromptError, match="answer-v1, answer-v2"):
        Variants.load((("answer-v9", 1),))
    with pytest.raises(PromptError, match="share above 0"):
        Variants.load((("answer-v1", 0),))
    assert sorted(p.stem for p in PROMPTS_DIR.glob("*.txt")) == [
        "answer-local-v1",
        "answer-v1",
        "answer-v2",
        "rewrite-v1",
        "sql-v1",
        "sql-v2",
    ]


@pytest.fixture
def ab_settings(kb_settings, fake_openai):
    from bot.chain.tiers import Tier

    tier = Tier("strong", "big-model", fake_openai.base_url)
    # The FAQ path is off so that every answer is written by the model with the thread's prompt.
    return kb_settings.replace(
        llm_tiers=(tier,), faq_match=2.0, prompt_variants=(("answer-v1", 1), ("answer-v2", 1))
    )


def test_each_thread_is_answered_with_its_variants_prompt(ab_settings, make_deps, fake_openai):
    agent = Agent(make_deps(ab_settings))
    split = threads_by_variant(agent.deps.variants)
    for name in ("answer-v1", "answer-v2"):
        answer = agent.answer(QUESTION, split[name][0])
        assert (answer.variant, answer.prompt_version) == (name, load_prompt(name).version)
        assert fake_openai.prompts()[-1][0]["content"] == load_prompt(name).text
        assert answer_json(answer)["variant"] == name


def test_cached_answers_stay_with_their_variant(kb_settings, make_deps, redis_client, redis_prefix):
    agent = Agent(
        make_deps(kb_settings.replace(prompt_variants=(("answer-v1", 1), ("answer-v2", 1))))
    )
    split = threads_by_variant(agent.deps.variants)
    first = agent.answer("How much can I spend on a hotel?", split["answer-v1"][0])
    other_variant = agent.answer("How much can I spend on a hotel?", split["answer-v2"][0])
    same_variant = agent.answer("How much can I spend on a hotel?", split["answer-v1"][1])
    assert first.mode != "cache" and other_variant.mode != "cache" and same_variant.mode == "cache"
    # Without a model the variant is still recorded: it is the prompt a model would have been given.
    assert (first.variant, other_variant.variant, same_variant.variant) == (
        "answer-v1",
        "answer-v2",
        "answer-v1",
    )


def test_turns_usage_and_feedback_record_the_variant(
    kb_settings, make_deps, redis_client, redis_prefix
):
    deps = make_deps(kb_settings.replace(prompt_variants=(("answer-v2", 1),)))
    answer = Agent(deps).answer("How many vacation days do I get?", "C7:1.1", Asker(channel="C7"))
    turns = TurnLog(redis_client, redis_prefix)
    assert (turns.get(answer.turn_id).variant, turns.get(answer.turn_id).prompt_version) == (
        "answer-v2",
        load_prompt("answer-v2").version,
    )
    turns.rate(answer.turn_id, "U1", "down")
    [entry] = [json.loads(raw) for raw in redis_client.lrange(f"{redis_prefix}feedback:log", 0, -1)]
    assert (entry["variant"], entry["prompt_version"]) == ("answer-v2", answer.prompt_version)
    assert deps.usage.today("C7")["variant:answer-v2"] == 1.0
