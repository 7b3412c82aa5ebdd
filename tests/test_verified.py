"""Verified answers (bot/chain/verified.py) served by the agent, on real Redis and the real
embedding model: word for word, before retrieval, to whom their audience allows, fresh only."""

import pytest

from bot.chain.agent import Agent
from bot.chain.verified import Verified, VerifiedError
from knowledge.access import Asker

ANSWER = "Parking passes are handed out by Maria at the front desk, Mondays 9-11."
QUESTION = "How do I get a parking pass?"


def verified_deps(make_deps, kb_settings, day="2026-12-07"):
    deps = make_deps(kb_settings)
    deps.verified.clock = lambda: day
    return deps


def test_a_verified_answer_is_served_word_for_word_for_its_question_and_a_paraphrase(
    kb_settings, make_deps
):
    deps = verified_deps(make_deps, kb_settings)
    entry = deps.verified.save(Verified(QUESTION, ANSWER, "U0OWNER"))
    agent = Agent(deps)
    exact = agent.answer("how do I get a parking pass", "t1")
    paraphrase = agent.answer("How can I get a parking pass?", "t2")
    other = agent.answer("How much can I spend on a hotel?", "t3")
    assert exact.mode == paraphrase.mode == "verified" and exact.text == paraphrase.text == ANSWER
    assert (
        exact.attribution
        == "Verified by <@U0OWNER> on 2026-12-07"
        == f"Verified by <@U0OWNER> on {entry.verified_on}"
    )
    assert "Verified by <@U0OWNER> on 2026-12-07" in exact.as_text()
    assert other.mode != "verified"


def test_a_retired_or_draft_answer_is_not_served(kb_settings, make_deps):
    deps = verified_deps(make_deps, kb_settings)
    entry = deps.verified.save(Verified(QUESTION, ANSWER, "U0OWNER"))
    deps.verified.save(
        Verified("Who waters the office plants?", "Tom does.", "U0TOM", status="draft")
    )
    agent = Agent(deps)
    assert agent.answer(QUESTION, "t4").mode == "verified"
    deps.verified.retire(entry.id)
    assert agent.answer(QUESTION, "t5").mode != "verified"
    assert agent.answer("Who waters the office plants?", "t6").mode != "verified"


def test_past_its_review_date_it_is_not_served_and_the_owner_is_to_be_told(kb_settings, make_deps):
    deps = verified_deps(make_deps, kb_settings, day="2026-12-07")
    entry = deps.verified.save(Verified(QUESTION, ANSWER, "U0OWNER", review_by="2026-12-10"))
    agent = Agent(deps)
    assert agent.answer(QUESTION, "t7").mode == "verified" and deps.verified.asked_overdue() == {}
    deps.verified.clock = lambda: "2026-12-11"
    assert agent.answer(QUESTION, "t8").mode != "verified"
    assert list(deps.verified.asked_overdue()) == [entry.id] and deps.verified.overdue() == [
        deps.verified.get(entry.id)
    ]
    renewed = deps.verified.approve(entry.id, review_by="2027-06-01")
    assert renewed.verified_on == "2026-12-11" and deps.verified.asked_overdue() == {}
    assert agent.answer(QUESTION, "t9").mode == "verified"


def test_a_channel_answer_is_for_that_channel_and_its_thread_memory_leaks_nothing(
    kb_settings, make_deps
):
    deps = verified_deps(make_deps, kb_settings)
    deps.verified.save(Verified(QUESTION, ANSWER, "U0OWNER", audience=("channel:CHR",)))
    agent = Agent(deps)
    inside = agent.answer(QUESTION, "CHR:1", Asker(user="U1", channel="CHR"))
    assert inside.mode == "verified" and inside.text == ANSWER
    for asker in (
        Asker(user="U1", channel="CGEN"),
        Asker(user="U1", channel="D1", direct=True),
        Asker(),
    ):
        assert ANSWER not in agent.answer(QUESTION, f"x{asker.channel}", asker).text
    # Someone without the channel follows up in the same thread: the earlier turn is not read.
    follow_up = agent.answer("and who hands them out?", "CHR:1", Asker(user="U2", channel="CGEN"))
    assert "Maria" not in follow_up.text and "Maria" not in follow_up.searched
    # The verified answer never enters the answer cache, so no one else is served it from there.
    assert agent.answer(QUESTION, "CGEN:2", Asker(user="U3", channel="CGEN")).mode != "cache"


def test_bad_entries_say_what_to_fix(kb_settings, make_deps):
    deps = verified_deps(make_deps, kb_settings)
    with pytest.raises(VerifiedError, match="YYYY-MM-DD"):
        deps.verified.save(Verified(QUESTION, ANSWER, "U0OWNER", review_by="next week"))
    with pytest.raises(VerifiedError, match="audience"):
        deps.verified.save(Verified(QUESTION, ANSWER, "U0OWNER", audience=("hr",)))
    with pytest.raises(VerifiedError, match="owner"):
        deps.verified.save(Verified(QUESTION, ANSWER, " "))
    with pytest.raises(VerifiedError, match="bot verified list"):
        deps.verified.retire("nope")


def test_a_korean_verified_answer_is_served_for_a_korean_paraphrase_only(kb_settings, make_deps):
    deps = verified_deps(make_deps, kb_settings)
    answer = "건강검진은 HR 포털의 복리후생 메뉴에서 지정 병원을 골라 예약합니다."
    deps.verified.save(Verified("건강 검진은 어디서 예약해요?", answer, "U0OWNER"))
    agent = Agent(deps)
    served = agent.answer("건강검진 예약은 어떻게 하나요?", "k1")
    assert served.mode == "verified" and served.text == answer
    assert served.attribution == "<@U0OWNER>님이 2026-12-07에 검증한 답변"
    # Same topic, another question; and the same question in English: not this answer.
    assert agent.answer("건강 검진 비용은 회사가 내 주나요?", "k2").mode != "verified"
    assert agent.answer("Where do I book my health check-up?", "k3").mode != "verified"
