"""The answer cache, on real Redis and the real embedding model."""

from bot.agent import Agent
from bot.cache import AnswerCache


def test_a_repeated_question_is_answered_from_the_cache(kb_settings, make_deps):
    agent = Agent(make_deps(kb_settings))
    first = agent.answer("How much can I spend on a hotel?", "c1")
    again = agent.answer("how much can I spend on a hotel", "c2")
    assert first.mode != "cache" and again.mode == "cache" and "cache: exact hit" in again.notes
    assert again.text == first.text and [p.id for p in again.sources] == [p.id for p in first.sources]
    assert again.cache_key == first.cache_key != ""


def test_a_paraphrase_hits_and_a_different_question_does_not(kb_settings, make_deps):
    agent = Agent(make_deps(kb_settings))
    first = agent.answer("How many vacation days do I get per year?", "c3")
    paraphrase = agent.answer("How many vacation days do I get each year?", "c4")
    other = agent.answer("How many sick days do I get per year?", "c5")
    assert paraphrase.mode == "cache" and paraphrase.notes[0].startswith("cache: semantic hit")
    assert paraphrase.text == first.text
    assert other.mode != "cache"


def test_refusals_follow_ups_and_other_index_versions_are_not_served(kb_settings, make_deps, embedder):
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder

    deps = make_deps(kb_settings)
    agent = Agent(deps)
    assert agent.answer("Who won the football world cup in 1954?", "c6").refused
    assert agent.answer("Who won the football world cup in 1954?", "c6b").mode != "cache"
    agent.answer("How much is the home-office budget?", "c7")
    assert agent.answer("and for contractors?", "c7").mode != "cache"
    assert agent.answer("How much is the home-office budget?", "c8").mode == "cache"
    # Any ingest that changes the index changes its version: cached answers stop matching.
    extra = kb_settings.data_dir / "extra"
    extra.mkdir()
    (extra / "canteen.md").write_text("# Canteen\n\nThe canteen opens at 11:30.\n")
    Pipeline(deps.store, embedder, SparseEncoder()).run([extra])
    assert agent.answer("How much is the home-office budget?", "c9").mode != "cache"


def test_another_worker_sees_entries_and_an_evicted_answer_is_gone(redis_client, redis_prefix, embedder):
    def cache() -> AnswerCache:
        return AnswerCache(redis_client, redis_prefix, embedder.embed_query, 0.85, lambda: "v1")

    writer, reader = cache(), cache()
    assert reader.get("Where do I park my bike?") is None
    key = writer.put("Where do I park my bike?", {"text": "In the cellar.", "mode": "faq", "sources": [],
                                                    "confidence": 1.0})
    hit = reader.get("Where can I park my bicycle?")
    assert hit is not None and hit.kind == "semantic" and hit.answer["text"] == "In the cellar."
    assert reader.evict(key)
    assert writer.get("Where do I park my bike?") is None


def test_a_semantic_hit_whose_sources_this_question_would_not_retrieve_is_a_miss(kb_settings, make_deps):
    from dataclasses import replace

    # Threshold 0: every cached question is "close"; only the check on sources stands between.
    agent = Agent(make_deps(replace(kb_settings, semantic_cache_match=0.0)))
    agent.answer("How much is the home-office budget?", "c10")
    other = agent.answer("How many vacation days do I get per year?", "c11")
    same_need = agent.answer("What is the budget for a home office?", "c12")
    assert other.mode != "cache" and "25 vacation days" in other.text
    assert same_need.mode == "cache" and same_need.notes[0].startswith("cache: semantic hit")


def test_answers_made_under_other_business_rules_or_models_are_not_reused(redis_client, redis_prefix, embedder,
                                                                          tmp_path):
    from bot.cache import answer_scope
    from guards.policy import DEFAULT_RULES, BusinessRules

    edited = tmp_path / "rules.toml"
    edited.write_text(DEFAULT_RULES.read_text() + '\n[[output.disclaimers]]\ncategory = "IT"\ntext = "Ask IT."\n')
    shipped, changed = BusinessRules.load(), BusinessRules.load(edited)
    scopes = {answer_scope(shipped.fingerprint, []), answer_scope(changed.fingerprint, []),
              answer_scope(shipped.fingerprint, ["gpt-4o-mini"]), answer_scope(shipped.fingerprint, ["gpt-4o"])}
    assert len(scopes) == 4 and answer_scope(BusinessRules.load().fingerprint, []) in scopes

    def cache(scope: str) -> AnswerCache:
        return AnswerCache(redis_client, redis_prefix, embedder.embed_query, 0.85, lambda: "v1", scope)

    cache(answer_scope(shipped.fingerprint, [])).put("Where do I park my bike?", {"text": "In the cellar."})
    assert cache(answer_scope(shipped.fingerprint, [])).get("Where do I park my bike?") is not None
    assert cache(answer_scope(changed.fingerprint, [])).get("Where do I park my bike?") is None
