"""The answer cache, on real Redis and the real embedding model."""

from bot.chain.agent import Agent
from bot.chain.answer_cache import AnswerCache
from knowledge.access import Access, Asker

V = "answer-v1@test"
PUBLIC = Access()


def test_a_repeated_question_is_answered_from_the_cache(kb_settings, make_deps):
    agent = Agent(make_deps(kb_settings))
    first = agent.answer("How much can I spend on a hotel?", "c1")
    again = agent.answer("how much can I spend on a hotel", "c2")
    assert first.mode != "cache" and again.mode == "cache" and "cache: exact hit" in again.notes
    assert again.text == first.text and [p.id for p in again.sources] == [
        p.id for p in first.sources
    ]
    assert again.cache_key == first.cache_key != ""


def test_a_paraphrase_hits_and_a_different_question_does_not(kb_settings, make_deps):
    agent = Agent(make_deps(kb_settings))
    first = agent.answer("How many vacation days do I get per year?", "c3")
    paraphrase = agent.answer("How many vacation days do I get each year?", "c4")
    other = agent.answer("How many sick days do I get per year?", "c5")
    assert paraphrase.mode == "cache" and paraphrase.notes[0].startswith("cache: semantic hit")
    assert paraphrase.text == first.text
    assert other.mode != "cache"


def test_refusals_and_follow_ups_are_not_served(kb_settings, make_deps):
    agent = Agent(make_deps(kb_settings))
    assert agent.answer("Who won the football world cup in 1954?", "c6").refused
    assert agent.answer("Who won the football world cup in 1954?", "c6b").mode != "cache"
    agent.answer("How much is the home-office budget?", "c7")
    assert agent.answer("and for contractors?", "c7").mode != "cache"
    assert agent.answer("How much is the home-office budget?", "c8").mode == "cache"


def test_a_reindex_retires_only_answers_citing_changed_documents(kb_settings, make_deps, embedder):
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder

    deps = make_deps(kb_settings)
    agent, pipeline = Agent(deps), Pipeline(deps.store, embedder, SparseEncoder())
    extra = kb_settings.knowledge.data_dir / "extra"
    extra.mkdir()
    canteen = extra / "canteen.md"
    canteen.write_text("# Canteen\n\nThe canteen opens at 11:30 on weekdays.\n")
    pipeline.run([extra])
    assert "11:30" in agent.answer("When does the canteen open?", "c9").text
    agent.answer("How much is the home-office budget?", "c10")

    (extra / "parking.md").write_text("# Parking\n\nBikes go in the cellar.\n")
    pipeline.run([extra])  # the canteen page is unchanged: its answer stays
    assert agent.answer("When does the canteen open?", "c11").mode == "cache"

    canteen.write_text("# Canteen\n\nThe canteen opens at 12:00 on weekdays.\n")
    pipeline.run([extra])
    fresh = agent.answer("When does the canteen open?", "c12")
    assert fresh.mode != "cache" and "12:00" in fresh.text
    assert agent.answer("How much is the home-office budget?", "c13").mode == "cache"


def test_an_answer_a_new_document_would_change_is_not_served(kb_settings, make_deps, embedder):
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder

    deps = make_deps(kb_settings)
    agent, pipeline = Agent(deps), Pipeline(deps.store, embedder, SparseEncoder())
    first = agent.answer("How do I book a meeting room?", "c14")
    assert agent.answer("How do I book a meeting room?", "c15").mode == "cache"
    rooms = kb_settings.knowledge.data_dir / "rooms"
    rooms.mkdir()
    (rooms / "meeting-rooms.md").write_text(
        "# Booking a meeting room\n\nBook a meeting room in the Roomly app: pick the room, the time and "
        "the number of people. Meeting rooms are booked for at most two hours.\n"
    )
    pipeline.run([rooms])
    again = agent.answer("How do I book a meeting room?", "c16")
    assert again.mode != "cache" and "Roomly" in again.text and again.text != first.text


def test_another_worker_sees_entries_and_an_evicted_answer_is_gone(
    redis_client, redis_prefix, embedder
):
    def cache() -> AnswerCache:
        return AnswerCache(redis_client, redis_prefix, embedder.embed_query, 0.95, lambda ids: {})

    writer, reader = cache(), cache()
    assert reader.get("Where do I park my bike?", V, PUBLIC) is None
    key = writer.put(
        "Where do I park my bike?",
        {"text": "In the cellar.", "mode": "faq", "sources": [], "confidence": 1.0},
        V,
    )
    hit = reader.get("Where can I park my bicycle?", V, PUBLIC)
    assert hit is not None and hit.kind == "semantic" and hit.answer["text"] == "In the cellar."
    assert not reader.evict(key, "answer-v2@test")  # another prompt's entry
    assert reader.evict(key, V)
    assert writer.get("Where do I park my bike?", V, PUBLIC) is None


def test_a_semantic_hit_whose_sources_this_question_would_not_retrieve_is_a_miss(
    kb_settings, make_deps
):

    # Threshold 0: every cached question is "close"; only the check on sources stands between.
    agent = Agent(make_deps(kb_settings.replace(semantic_cache_match=0.0)))
    agent.answer("How much can I spend on a hotel?", "c10")
    other = agent.answer("How many vacation days do I get per year?", "c11")
    same_need = agent.answer("What is the most I may spend on a hotel?", "c12")
    assert other.mode != "cache" and "25 vacation days" in other.text
    assert same_need.mode == "cache" and same_need.notes[0].startswith("cache: semantic hit")


def test_answers_made_under_other_business_rules_or_models_are_not_reused(
    redis_client, redis_prefix, embedder, tmp_path
):
    from bot.chain.answer_cache import answer_scope
    from guards.policy import DEFAULT_RULES, BusinessRules

    edited = tmp_path / "rules.toml"
    edited.write_text(
        DEFAULT_RULES.read_text() + '\n[[output.disclaimers]]\ncategory = "IT"\ntext = "Ask IT."\n'
    )
    shipped, changed = BusinessRules.load(), BusinessRules.load(edited)
    scopes = {
        answer_scope(shipped.fingerprint, [], "m"),
        answer_scope(changed.fingerprint, [], "m"),
        answer_scope(shipped.fingerprint, ["gpt-4o-mini"], "m"),
        answer_scope(shipped.fingerprint, ["gpt-4o"], "m"),
        answer_scope(shipped.fingerprint, [], "another-embedding-model"),
    }
    assert len(scopes) == 5 and answer_scope(BusinessRules.load().fingerprint, [], "m") in scopes

    def cache(scope: str) -> AnswerCache:
        return AnswerCache(
            redis_client, redis_prefix, embedder.embed_query, 0.95, lambda ids: {}, scope
        )

    cache(answer_scope(shipped.fingerprint, [], "m")).put(
        "Where do I park my bike?", {"text": "In the cellar."}, V
    )
    assert (
        cache(answer_scope(shipped.fingerprint, [], "m")).get("Where do I park my bike?", V, PUBLIC)
        is not None
    )
    assert (
        cache(answer_scope(changed.fingerprint, [], "m")).get("Where do I park my bike?", V, PUBLIC)
        is None
    )


def test_a_full_vector_list_is_retired_for_a_new_one(
    redis_client, redis_prefix, embedder, monkeypatch
):
    import bot.chain.answer_cache

    monkeypatch.setattr(bot.chain.answer_cache, "MAX_VECTORS", 2)
    cache = AnswerCache(redis_client, redis_prefix, embedder.embed_query, 0.95, lambda ids: {})
    for question in (
        "Where do I park my bike?",
        "When does the canteen open?",
        "Who cleans the kitchen?",
    ):
        cache.put(question, {"text": "Ask the office manager.", "sources": []}, V)
    lists = sorted(k for k in redis_client.keys(f"{redis_prefix}*vectors*"))
    assert [redis_client.llen(k) for k in lists] == [2, 1]
    assert (
        cache.get("Where can I park my bicycle?", V, PUBLIC) is None
    )  # its vector went with the old list
    assert cache.get("Where do I park my bike?", V, PUBLIC).kind == "exact"  # its answer did not
    assert cache.get("Who does the cleaning of the kitchen?", V, PUBLIC).kind == "semantic"


KOREAN_ANSWER = {
    "text": "정규직은 연 25일의 연차를 받습니다.",
    "mode": "faq",
    "sources": [],
    "confidence": 1.0,
}


def test_korean_questions_are_matched_by_meaning_at_their_own_threshold(
    redis_client, redis_prefix, embedder
):
    from bot.settings import Settings

    korean = Settings().semantic_cache_match_ko
    cache = AnswerCache(
        redis_client,
        redis_prefix,
        embedder.embed_query,
        0.5,  # English: anything; Korean keeps its own threshold and its own list
        lambda ids: {},
        other_languages={"ko": korean},
    )
    cache.put("정규직은 연차가 1년에 며칠이에요?", KOREAN_ANSWER, V)
    cache.put(
        "건강 검진은 어디서 예약해요?", {**KOREAN_ANSWER, "text": "사내 포털에서 예약합니다."}, V
    )
    paraphrase = cache.get("건강검진 예약은 어떻게 하나요?", V, PUBLIC)
    assert paraphrase.kind == "semantic" and paraphrase.similarity >= korean
    assert paraphrase.answer["text"] == "사내 포털에서 예약합니다."
    # The same words but for contractors (0.950 on e5): another question, not served.
    assert cache.get("계약직은 연차가 1년에 며칠이에요?", V, PUBLIC) is None
    # An English question never finds a Korean question's answer, however low its threshold.
    assert cache.get("How many days of annual leave do full-time staff get?", V, PUBLIC) is None


def test_without_a_threshold_for_korean_a_korean_question_is_matched_by_its_wording_only(
    redis_client, redis_prefix, embedder
):
    cache = AnswerCache(redis_client, redis_prefix, embedder.embed_query, 0.5, lambda ids: {})
    cache.put("정규직은 연차가 1년에 며칠이에요?", KOREAN_ANSWER, V)
    assert cache.get("정규직 직원의 연간 연차 일수는 얼마인가요?", V, PUBLIC) is None
    assert cache.get("정규직은  연차가 1년에 며칠이에요", V, PUBLIC).kind == "exact"


def test_eval_cache_measures_the_real_cache(tmp_path, embedder, redis_client, redis_prefix):
    from bot.ops.evals.cache import covid_pairs, eval_cache

    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "covid_paraphrases.csv").write_text(
        "question_1,question_2,similar\n"
        "How many vacation days do I get per year?,how many vacation days do I get per year,1\n"
        "How many vacation days do I get per year?,How many vacation days do I get each year?,1\n"
        "How many vacation days do I get per year?,How many sick days do I get per year?,0\n"
        "재택근무는 주 몇 일 가능한가요?,출장비는 어떻게 정산하나요?,0\n",
        encoding="utf-8",
    )
    figures = eval_cache(
        covid_pairs(tmp_path), embedder, {"en": 0.95, "ko": 0.96}, redis_client, redis_prefix
    )
    halves = [figures[half] for half in ("calibration", "test")]
    assert sum(h["pairs"] for h in halves) == 4
    assert sum(h["exact_hits"] for h in halves) == 1  # the same words, normalised
    assert sum(h["wrong_hits"] for h in halves) == 0  # the Korean pair asks something else
    assert sum(h["hits"] for h in halves) == 2  # both similar pairs were served the stored answer
    assert not list(redis_client.scan_iter(f"{redis_prefix}*"))  # its entries are deleted


def test_close_answers_the_asker_may_not_see_or_that_are_stale_give_way_to_the_next(
    redis_client, redis_prefix, embedder
):
    current = {"hr-page": "h", "old-page": "changed since", "cellar-page": "h"}
    cache = AnswerCache(
        redis_client,
        redis_prefix,
        embedder.embed_query,
        0.5,
        lambda ids: {i: current[i] for i in ids if i in current},
    )

    def answer(text: str, chunk_id: str, audience: list[str]) -> dict:
        return {
            "text": text,
            "sources": [{"id": chunk_id, "payload": {"audience": audience, "content_hash": "h"}}],
        }

    cache.put("Where do I park my bike?", answer("At HR's spot.", "hr-page", ["channel:CHR"]), V)
    stale = cache.put(
        "Where can I park my bike?", answer("Behind the old shed.", "old-page", ["everyone"]), V
    )
    cache.put(
        "Where should I leave my bike?", answer("In the cellar.", "cellar-page", ["everyone"]), V
    )
    hit = cache.get(
        "Where do I park my bike?", V, PUBLIC
    )  # the closest is HR's answer, then a stale one
    assert hit.kind == "semantic" and hit.answer["text"] == "In the cellar."
    assert cache.get("Where can I park my bike?", V, PUBLIC).answer["text"] == "In the cellar."
    assert not redis_client.keys(f"{redis_prefix}*answer:{stale}")  # the stale answer was dropped
    hr = Access.of(Asker(user="U1", channel="CHR"))
    assert cache.get("Where do I park my bike?", V, hr).answer["text"] == "At HR's spot."


def test_a_pairs_file_without_the_fields_says_which_line(tmp_path):
    import pytest

    from bot.ops.evals.cache import read_pairs

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        '{"question_1": "a?", "question_2": "b?", "similar": 1}\n{"question_1": "c?"}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"pairs\.jsonl:2: a pair needs"):
        read_pairs(pairs)
