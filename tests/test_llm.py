"""The LLM path through the real `openai` client, against an OpenAI-compatible server on localhost."""

import json
from dataclasses import replace

import pytest

from bot.agent import Agent


@pytest.fixture
def llm_settings(kb_settings, fake_openai):
    return replace(kb_settings, openai_base_url=fake_openai.base_url, llm_model="test-model", llm_timeout_s=5)


@pytest.fixture
def agent(llm_settings, make_deps):
    # The FAQ fast path is off here, so that every question reaches the model.
    return Agent(make_deps(replace(llm_settings, faq_match=2.0)))


def test_close_faq_match_is_answered_without_calling_the_model(llm_settings, make_deps, fake_openai):
    answer = Agent(make_deps(llm_settings)).answer("How much is the home office budget?", "llm0")
    assert answer.mode == "faq" and "500 EUR" in answer.text
    assert fake_openai.prompts() == []


def reply(answer: str, sources: list[int], confidence: float = 0.9) -> str:
    return json.dumps({"answer": answer, "sources": sources, "confidence": confidence})


def test_llm_answer_is_validated_and_cites_retrieved_sources(agent, fake_openai):
    answer = agent.answer("How many vacation days do full-time staff get?", "llm1")
    assert (answer.mode, answer.refused) == ("llm", False)
    assert "25 vacation days" in answer.text and "[1]" in answer.text
    assert answer.sources and answer.confidence == 0.8
    [messages] = fake_openai.prompts()
    assert messages[0]["role"] == "system" and "Question: How many vacation days" in messages[1]["content"]
    assert "[1] " in messages[1]["content"]


def test_citation_of_a_passage_never_shown_is_reasked_with_feedback(agent, fake_openai):
    fake_openai.enqueue(reply("You get 30 days [9].", [9]), reply("You get 25 days [2].", [2]))
    answer = agent.answer("How many vacation days do I get?", "llm2")
    assert answer.mode == "llm" and answer.text.startswith("You get 25 days [1].")
    second = fake_openai.prompts()[1]
    assert "rejected" in second[-1]["content"] and "[9]" in second[-1]["content"]
    assert any("draft 1 rejected" in n for n in answer.notes)


def test_answer_failing_validation_twice_falls_back_to_a_quote(agent, fake_openai):
    fake_openai.enqueue("Sure! 25 days.", reply("25 days [7]", [7]))
    answer = agent.answer("How many vacation days do I get?", "llm3")
    assert answer.mode == "extractive" and "could not be verified" in answer.text
    assert "25 vacation days" in answer.text and len(fake_openai.prompts()) == 2


def test_model_server_error_falls_back_to_a_quote_never_silence(agent, fake_openai):
    fake_openai.enqueue((500, {"error": {"message": "boom"}}), (500, {"error": {"message": "boom"}}),
                        (500, {"error": {"message": "boom"}}), (500, {"error": {"message": "boom"}}))
    answer = agent.answer("How many vacation days do I get?", "llm4")
    assert answer.mode == "extractive" and "25 vacation days" in answer.text
    assert any("model server failed" in n for n in answer.notes)


def test_model_saying_it_cannot_answer_becomes_a_refusal(agent, fake_openai):
    fake_openai.enqueue(reply("The passages do not say.", [1], confidence=0.0))
    answer = agent.answer("How many vacation days do interns get?", "llm5")
    assert answer.refused and answer.reason == "no_answer"


def test_an_answer_its_sources_do_not_support_is_reasked_and_never_shown(agent, fake_openai):
    fake_openai.enqueue(reply("Full-time employees get 40 vacation days per year [1].", [1]),
                        reply("Full-time employees get 25 vacation days per year [1].", [1]))
    answer = agent.answer("How many vacation days do full-time employees get?", "llm6")
    assert answer.mode == "llm" and "25 vacation days" in answer.text and "40" not in answer.text
    assert "not supported by the passages" in fake_openai.prompts()[1][-1]["content"]
