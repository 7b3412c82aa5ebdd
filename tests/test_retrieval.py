"""Retrieval on the sample knowledge base, in English and Korean."""

import json

import pytest

from bot.chain.agent import Agent
from knowledge.access import ALL
from knowledge.sparse import SparseEncoder
from tests.conftest import ROOT


def test_korean_particles_do_not_hide_the_word():
    sparse = SparseEncoder()
    # 휴가를 (vacation + object particle) must share a term with 휴가는 (vacation + topic particle).
    query = set(sparse.encode_query("휴가를 이월할 수 있나요?").indices)
    document = set(
        sparse.encode_document(
            "사용하지 않은 연차 휴가는 최대 5일까지 다음 해로 이월할 수 있으며"
        ).indices
    )
    assert len(query & document) >= 2
    assert "휴가" in sparse.korean_morphemes("휴가를") and "를" not in sparse.korean_morphemes(
        "휴가를"
    )
    # Latin words inside Korean text share ids with the English path.
    assert set(sparse.encode_query("VPN").indices) <= set(
        sparse.encode_document("VPN에 연결할 수 없으면").indices
    )


@pytest.mark.parametrize(
    "question, section",
    [
        ("휴가를 다음 해로 이월할 수 있나요?", "연차 휴가"),
        ("VPN이 연결되지 않아요", "VPN 연결"),
        ("비밀번호를 잊어버렸어요", "비밀번호 재설정"),
        ("병가를 내려면 진단서가 필요한가요?", "병가"),
    ],
)
def test_a_korean_question_finds_the_korean_page(kb_settings, make_deps, question, section):
    answer = Agent(make_deps(kb_settings)).answer(question, "ko")
    assert not answer.refused, answer
    assert answer.sources[0].chunk.section == section
    assert answer.sources[0].chunk.source.startswith("https://intranet.fjordlight.example/ko/")


def test_a_manual_section_that_matches_outranks_an_faq_row_that_matches_less(
    kb_settings, make_deps, embedder
):
    """Every chunk has a heading vector, not only FAQ rows: otherwise an FAQ row gets a vote
    that no manual section can, and "How do I book a business trip?" beat the meeting-room page."""
    from ingest.pipeline import Pipeline

    deps = make_deps(kb_settings)
    rooms = kb_settings.knowledge.data_dir / "rooms"
    rooms.mkdir()
    (rooms / "meeting-rooms.md").write_text(
        "# Booking a meeting room\n\nBook a meeting room in the Roomly app: pick the room, the time and "
        "the number of people. Meeting rooms are booked for at most two hours.\n"
    )
    Pipeline(deps.store, embedder, SparseEncoder()).run([rooms])
    best = deps.retriever.retrieve("How do I book a meeting room?", 3, access=ALL)[0]
    assert best.chunk.title == "Booking a meeting room" and best.question_score is None


def test_an_off_topic_korean_question_is_refused(kb_settings, make_deps):
    """Its passages are judged by their cosine, as an English question's are (e5 reads Korean),
    against MIN_RELEVANCE_KO."""
    agent = Agent(make_deps(kb_settings))
    answer = agent.answer("양자 컴퓨터는 어떤 원리로 작동하나요?", "ko-off")
    assert answer.refused and answer.reason == "no_answer"
    assert all(p.score < kb_settings.knowledge.min_relevance_ko for p in answer.sources)
    assert not agent.answer("재택근무를 신청하려면 어떻게 하나요?", "ko-on").refused


def test_a_question_is_korean_by_its_hangul_even_with_english_words_in_it():
    from knowledge.language import language_of

    assert (
        language_of("OpenAI API key는 어떻게 발급받아요?") == "ko"
        and language_of("LLM API 캐스케이드 구성") == "ko"
    )
    assert language_of("What does 연차 mean?") == "en"


@pytest.mark.parametrize(
    "question",
    [
        "Does the company pay for my spouse's health checkup?",
        "Where can visitors get a free parking ticket?",
        "Who do I call for an urgent IT outage at night?",
    ],
)
def test_the_best_passage_does_not_depend_on_how_many_are_asked(kb_settings, make_deps, question):
    """The answer cache checks a hit against the best passage asked alone; a turn asks for
    RETRIEVAL_TOP_K. Each side's candidates used to be four times the limit, and these
    questions' best passage changed with it."""
    retriever = make_deps(kb_settings).retriever
    best = {limit: retriever.retrieve(question, limit, access=ALL)[0].id for limit in (1, 5, 10)}
    assert len(set(best.values())) == 1, best


FOLLOW_UPS = [
    json.loads(line)
    for line in (ROOT / "knowledge" / "eval" / "follow-ups.jsonl").read_text().splitlines()
]


def test_a_follow_up_finds_its_own_passage_first_not_the_previous_questions(kb_settings, make_deps):
    retriever = make_deps(kb_settings).retriever
    missed = []
    for case in FOLLOW_UPS:
        [first] = retriever.retrieve(case["question"], 1, context=case["previous"], access=ALL)
        found = (
            f"{first.chunk.title} > {first.chunk.section}"
            if first.chunk.section
            else first.chunk.title
        )
        if found not in case["relevant"]:
            missed.append((case["question"], found))
    # 18 of 18. Before fusion ties were ordered by meaning (knowledge/engines/base.py), the
    # point ids decided two of them: 정보보안 수칙's password section tied IT's password reset
    # after "노트북을 잃어버렸어요", and the expense claim FAQ row tied the receipts section.
    # MiniLM's 0.4 misses 4, 0.5 misses 6: this fails a weight the set does not support.
    assert len(missed) == 0, missed
