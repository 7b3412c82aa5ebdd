"""The leak suite: who may see what, on real Qdrant (both engines), real Redis and the real
embedding model. A salary-band page and an FAQ row are restricted to the HR channel CHR, an
on-call page to the Slack user group SSEC; every path to them from outside their audience
must get no passage of them, in the sources or in the text."""

import pytest

from bot.chain.agent import Agent
from ingest.frontmatter import Labels
from ingest.pipeline import Pipeline
from knowledge.access import ALL, Access, Asker
from knowledge.engines import ClientEngine
from knowledge.retrieval import Retriever
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.access_helpers import DM, ELSEWHERE, HR, SALARY_QUESTIONS, SECRETS, write_restricted


def leaked(answer) -> list[str]:
    """What of the restricted documents reached the answer: their sources, or their words."""
    return [p.chunk.title for p in answer.sources if p.chunk.restricted] + [
        secret for secret in SECRETS if secret in answer.text
    ]


def test_the_salary_bands_are_answered_in_the_hr_channel_only(restricted_settings, make_deps):
    agent = Agent(make_deps(restricted_settings.replace(answer_cache=False)))
    answer = agent.answer(SALARY_QUESTIONS[0], "CHR:1.1", HR)
    assert not answer.refused and "71,000" in answer.text
    assert answer.sources[0].chunk.title == "Salary bands 2026" and answer.sources[
        0
    ].chunk.audience == ["channel:CHR"]
    for number, question in enumerate(SALARY_QUESTIONS):
        for asker in (
            ELSEWHERE,
            DM,
            Asker(),
        ):  # another channel, the same user's DM, the command line
            answer = agent.answer(question, f"{asker.channel}:{number}", asker)
            assert leaked(answer) == [], (question, asker)


def test_the_faq_fast_path_is_filtered_too(restricted_settings, make_deps):
    agent = Agent(make_deps(restricted_settings.replace(answer_cache=False)))
    inside = agent.answer("What is the salary band for level E4?", "CHR:2.1", HR)
    assert (inside.mode, inside.sources[0].chunk.kind) == ("faq", "faq") and "86,000" in inside.text
    outside = agent.answer("What is the salary band for level E4?", "CGEN:2.1", ELSEWHERE)
    assert outside.mode != "faq" and leaked(outside) == []


def test_a_cached_hr_answer_is_not_served_elsewhere_and_is_not_replaced(
    restricted_settings, make_deps
):
    agent = Agent(make_deps(restricted_settings))
    first = agent.answer("What are the salary bands for engineers?", "CHR:3.1", HR)
    assert "71,000" in first.text and first.cache_key
    for question in (
        "What are the salary bands for engineers?",
        "What are the salary bands for the engineers?",
    ):
        for asker in (ELSEWHERE, DM):
            answer = agent.answer(question, f"{asker.channel}:3.2", asker)
            assert answer.mode != "cache" and leaked(answer) == [], (question, asker)
    # The answer given outside did not take the HR answer's place: HR still gets it from the cache.
    again = agent.answer("What are the salary bands for engineers?", "CHR:3.3", HR)
    assert again.mode == "cache" and "71,000" in again.text
    paraphrase = agent.answer("What are the salary bands for the engineers?", "CHR:3.4", HR)
    assert "71,000" in paraphrase.text


def test_an_answer_made_in_a_thread_that_cited_restricted_sources_is_not_cached(
    restricted_settings, make_deps
):
    agent = Agent(make_deps(restricted_settings))
    agent.answer("What are the salary bands for engineers?", "CHR:5.1", HR)
    # A standalone question, but the thread's HR turn was read with it: the answer may draw on it.
    after = agent.answer("How many vacation days do I get per year?", "CHR:5.1", HR)
    assert after.searched == "" and after.restricted and not after.cache_key
    elsewhere = agent.answer("How many vacation days do I get per year?", "CGEN:5.2", ELSEWHERE)
    assert elsewhere.mode != "cache" and not elsewhere.restricted and elsewhere.cache_key


def test_a_follow_up_searches_with_the_askers_rights(restricted_settings, make_deps):
    agent = Agent(make_deps(restricted_settings.replace(answer_cache=False)))
    # A thread started elsewhere, continued with a question about the salary bands.
    agent.answer("How many vacation days do I get?", "CGEN:4.1", ELSEWHERE)
    follow_up = agent.answer(
        "and what are the salary bands for E3 engineers?", "CGEN:4.1", ELSEWHERE
    )
    assert leaked(follow_up) == []
    # A thread whose memory holds the HR answer, continued by someone who may not see it: its
    # turn is not read (not blended into the search, not shown to a model).
    agent.answer("What are the salary bands for engineers?", "shared:4.2", HR)
    history = agent.deps.memory.recent("shared:4.2")
    assert history[-1].audiences == [["channel:CHR"]]
    follow_up = agent.answer("and for E3?", "shared:4.2", DM)
    assert leaked(follow_up) == [] and follow_up.searched == ""


def test_a_user_group_member_sees_its_documents_until_they_leave(
    restricted_settings, make_deps, fake_slack
):
    fake_slack.usergroups["SSEC"] = ["U7", "U8"]
    settings = restricted_settings.replace(
        slack_bot_token="xoxb-test", slack_api_url=fake_slack.api_url, answer_cache=False
    )
    deps = make_deps(settings)
    agent, question = Agent(deps), "When does the security on-call rotation hand over?"
    member = agent.answer(question, "CGEN:5.1", Asker(user="U7", channel="CGEN"))
    assert "Kestrel" in member.text
    assert leaked(agent.answer(question, "CGEN:5.2", Asker(user="U9", channel="CGEN"))) == []
    fake_slack.usergroups["SSEC"] = [
        "U8"
    ]  # U7 leaves the group; Slack is asked again once the cache expires
    assert "Kestrel" in agent.answer(question, "CGEN:5.3", Asker(user="U7", channel="CGEN")).text
    deps.redis.delete(deps.access.usergroups.key("SSEC"))  # the TTL runs out
    assert leaked(agent.answer(question, "CGEN:5.4", Asker(user="U7", channel="CGEN"))) == []
    assert (
        len(fake_slack.calls_to("usergroups.users.list")) == 2
    )  # once per TTL, not once per question


def test_both_engines_filter_inside_the_query(tmp_path, embedder):
    folder = write_restricted(tmp_path / "hr")
    (folder / "handbook.md").write_text(
        "# Pay day\n\nSalaries are paid on the 25th of each month.\n"
    )
    for store in (
        Store(ClientEngine.local(tmp_path / "client"), "kb"),
        Store.open(KnowledgeSettings(qdrant_path=tmp_path / "edge")),
    ):
        try:
            Pipeline(store, embedder, SparseEncoder()).run([folder])
            retriever = Retriever(store, embedder, SparseEncoder())
            for question in SALARY_QUESTIONS:
                everything = retriever.retrieve(question, 10, access=ALL)
                assert any(p.chunk.restricted for p in everything)
                for asker in (ELSEWHERE, DM, Asker()):
                    seen = retriever.retrieve(question, 10, access=Access.of(asker))
                    assert seen and not any(p.chunk.restricted for p in seen), (
                        type(store.engine),
                        asker,
                    )
                hr = retriever.retrieve(question, 10, access=Access.of(HR))
                assert {p.chunk.audience[0] for p in hr} == {"everyone", "channel:CHR"}
        finally:
            store.close()


def test_ingest_labels_and_status(tmp_path, embedder):
    folder = write_restricted(tmp_path / "hr")
    (folder / "public.md").write_text("# Canteen\n\nThe canteen opens at 11:30.\n")
    store = Store.open(KnowledgeSettings(qdrant_path=tmp_path / "q"))
    try:
        Pipeline(
            store, embedder, SparseEncoder(), labels=Labels(("channel:CHR", "user:U5"), ("hr",))
        ).run([folder])
        chunks = {c.title: c for c in store.chunks()}
        # The page's own audience wins; the path's goes to those that say none; tags add up.
        assert chunks["Salary bands 2026"].audience == ["channel:CHR"]
        assert chunks["Salary bands 2026"].tags == ["hr", "pay"]
        assert chunks["Canteen"].audience == ["channel:CHR", "user:U5"] and chunks[
            "Canteen"
        ].tags == ["hr"]
        assert chunks["Where do I find the holiday calendar?"].audience == [
            "channel:CHR",
            "user:U5",
        ]
        assert store.info().audiences == {"channel:CHR": 4, "user:U5": 2, "usergroup:SSEC": 1}
        # A later run without --audience keeps the path's audience (a plain re-run never opens it up).
        (folder / "public.md").write_text("# Canteen\n\nThe canteen opens at 12:00.\n")
        Pipeline(store, embedder, SparseEncoder()).run([folder])
        assert {c.title: c for c in store.chunks()}["Canteen"].audience == [
            "channel:CHR",
            "user:U5",
        ]
    finally:
        store.close()


def test_the_cache_serves_an_answer_only_to_who_may_see_its_sources(
    redis_client, redis_prefix, embedder
):
    """The cache's own check, beneath the agent's re-check of the best passage."""
    from bot.chain.answer_cache import AnswerCache

    def source(chunk_id: str, audience: list[str]) -> dict:
        return {
            "id": chunk_id,
            "payload": {"audience": audience, "content_hash": "h"},
            "score": 0.9,
            "rank": 1,
            "question_score": None,
        }

    cache = AnswerCache(
        redis_client, redis_prefix, embedder.embed_query, 0.95, lambda ids: dict.fromkeys(ids, "h")
    )
    question, paraphrase = (
        "What are the salary bands for engineers?",
        "What are the salary bands for the engineers?",
    )
    cache.put(
        question,
        {"text": "E3: 71,000 to 84,000 EUR", "sources": [source("s1", ["channel:CHR"])]},
        "v",
    )
    for asker in (ELSEWHERE, DM, Asker()):
        assert (
            cache.get(question, "v", Access.of(asker)) is None
            and cache.get(paraphrase, "v", Access.of(asker)) is None
        )
    assert cache.get(paraphrase, "v", Access.of(HR)).kind == "semantic"
    # Answered elsewhere from a public page: both answers are kept, each for who may see it.
    cache.put(question, {"text": "Ask HR.", "sources": [source("p1", ["everyone"])]}, "v")
    assert cache.get(question, "v", Access.of(ELSEWHERE)).answer["text"] == "Ask HR."
    assert cache.get(question, "v", Access.of(HR)).answer["text"] == "E3: 71,000 to 84,000 EUR"


def test_a_scoped_channel_answers_from_its_scope_only(restricted_settings, make_deps, tmp_path):
    from bot.chain.askers import load_scopes
    from bot.slack.reindexer import Reindexer
    from bot.slack.slash_commands import Commands
    from knowledge.errors import SettingsError

    scopes = tmp_path / "scopes.toml"
    scopes.write_text('[channels.CPOL]\nprefixes = ["hr/"]\n')
    settings = restricted_settings.replace(
        answer_cache=False, slack_admin_users=frozenset({"UADMIN"}), channel_scopes=scopes
    )
    deps = make_deps(settings)
    agent, commands = Agent(deps), Commands(deps, Reindexer(deps))
    question = "How many vacation days do I get per year?"
    assert (
        "25 vacation days"
        in agent.answer(question, "CASK:6.0", Asker(user="U1", channel="CASK")).text
    )
    reply = commands.handle("scope <#CASK|ask-hr> hr", "UADMIN", print, channel="CADMIN")
    assert reply == "<#CASK> now answers from #hr."
    assert "*This channel answers from*: #hr" in commands.handle(
        "status", "UADMIN", print, channel="CASK"
    )
    for asker in (
        Asker(user="U1", channel="CASK"),
        Asker(user="U1", channel="CPOL"),
    ):  # by tag, by folder (file)
        answer = agent.answer(question, f"{asker.channel}:6.1", asker)
        assert all(
            p.chunk.path.startswith(str(settings.knowledge.data_dir / "hr")) for p in answer.sources
        ), asker
        assert "25 vacation days" not in answer.text and leaked(answer) == []
    assert (
        commands.handle("scope <#CASK>", "UADMIN", print)
        == "<#CASK> now answers from the whole knowledge base."
    )
    assert (
        "25 vacation days"
        in agent.answer(question, "CASK:6.3", Asker(user="U1", channel="CASK")).text
    )
    assert commands.handle("scope <#CASK> hr", "U1", print).startswith("Only admins")
    assert "may hold letters" in commands.handle("scope <#CASK> h@r", "UADMIN", print)
    scopes.write_text("[channels.CPOL]\nprefixes = 3\n")
    with pytest.raises(SettingsError, match="CHANNEL_SCOPES"):
        load_scopes(scopes)


def test_ingest_says_what_is_wrong_with_an_audience(monkeypatch, settings, tmp_path, capsys):
    from ingest import cli

    folder = write_restricted(tmp_path / "hr")
    (folder / "typo.md").write_text("---\naudience: channel CHR\n---\n# Typo\n\nText.\n")
    with pytest.raises(SystemExit) as exit:
        cli.main([str(folder), "--audience", "hr-team"])
    assert (
        exit.value.code == 2
        and "audience 'hr-team' is not one of everyone, channel:C" in capsys.readouterr().err
    )
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    assert cli.main([str(folder), "--tag", "hr"]) == 1  # the typo fails alone; the rest is ingested
    out = capsys.readouterr().out
    assert "typo.md: audience 'channel CHR' is not one of" in out and "added 4" in out
    assert cli.main(["status"]) == 0
    assert (
        "documents per audience: channel:CHR 2, everyone 1, usergroup:SSEC 1"
        in capsys.readouterr().out
    )
