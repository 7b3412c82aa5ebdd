"""Answering from tables: the scripted model on localhost writes SQL (some of it hostile), the
guards check it, real DuckDB runs it, and the answer shows and cites the result."""

import json
import shutil
from pathlib import Path

import pytest

from bot.chain.agent import Agent
from bot.chain.answer_json import answer_json
from bot.cli.commands import render
from bot.slack.blocks import answer_blocks
from tests.conftest import copy_store

PARKING = "Which offices in Germany have parking?"
TABLES = Path(__file__).parent.parent / "knowledge" / "eval" / "tables"


@pytest.fixture
def table_settings(settings, eval_tables, tmp_path):
    folder, _ = eval_tables
    copy_store(folder / "qdrant", tmp_path / "kb")
    shutil.copy(folder / "tables.duckdb", tmp_path / "tables.duckdb")
    return settings.replace(qdrant_path=tmp_path / "kb", answer_cache=False)


@pytest.fixture
def agent_with_model(table_settings, make_deps, fake_openai):
    return Agent(make_deps(table_settings.replace(openai_base_url=fake_openai.base_url)))


def sql_reply(sql: str) -> str:
    return json.dumps({"sql": sql})


def test_a_table_question_is_answered_by_checked_sql_and_shows_the_rows(
    agent_with_model, fake_openai
):
    fake_openai.enqueue(
        sql_reply("SELECT city FROM offices WHERE country = 'Germany' AND parking ORDER BY city")
    )
    answer = agent_with_model.answer(PARKING)
    assert not answer.refused and answer.mode == "llm"
    assert answer.table.rows == [("Berlin",), ("Hamburg",)] and answer.table.tables == ["offices"]
    assert answer.table.sql.endswith("LIMIT 200")
    assert "Berlin" in answer.text and "Hamburg" in answer.text
    [source] = answer.sources
    assert source.chunk.title == "Office locations" and source.chunk.section == "query result"
    sql_prompt = fake_openai.prompts()[0]
    assert (
        "one DuckDB SQL query" in sql_prompt[0]["content"]
        and "Table offices" in sql_prompt[1]["content"]
    )
    assert answer_json(answer)["table"]["rows"] == [["Berlin"], ["Hamburg"]]
    slack = json.dumps(answer_blocks(answer))
    assert answer.table.sql in slack and "Hamburg" in slack
    assert "ORDER BY city LIMIT 200" in render(answer)


def test_the_sql_writer_is_shown_the_values_of_short_text_columns(agent_with_model, fake_openai):
    """A small model filters on what it has seen: without the regions listed, Qwen 0.5B wrote
    `country = 'Africa'`. Long or many-valued columns (cities, asset tags) are not listed."""
    fake_openai.enqueue(sql_reply("SELECT count(*) FROM offices WHERE region = 'Americas'"))
    agent_with_model.answer("How many offices are there in the Americas?")
    shown = fake_openai.prompts()[0][1]["content"]
    assert "region is one of: Africa, Americas, Asia, Europe, Oceania" in shown
    assert "country is one of: Australia, Brazil," in shown  # 14 countries
    assert "city is one of:" not in shown


def test_hostile_sql_is_rejected_and_re_asked_once_with_the_reason(
    agent_with_model, fake_openai, tmp_path
):
    stolen = tmp_path / "stolen.csv"
    fake_openai.enqueue(
        sql_reply(f"COPY offices TO '{stolen}'"),
        sql_reply("SELECT city FROM offices WHERE country = 'Germany' AND parking ORDER BY city"),
    )
    answer = agent_with_model.answer(PARKING)
    assert answer.table.rows == [("Berlin",), ("Hamburg",)]
    assert any(
        "sql draft 1 rejected: only SELECT is allowed, not COPY" in note for note in answer.notes
    )
    assert (
        "That query was rejected: only SELECT is allowed" in fake_openai.prompts()[1][-1]["content"]
    )
    assert not stolen.exists()


def test_sql_that_fails_twice_falls_back_to_the_row_passages(agent_with_model, fake_openai):
    fake_openai.enqueue(
        sql_reply("SELECT * FROM read_csv('/etc/passwd')"), sql_reply("SELECT salary FROM offices")
    )
    answer = agent_with_model.answer(PARKING)
    assert answer.table is None and "root:" not in answer.text
    assert any("no column 'salary'" in note for note in answer.notes)
    assert "answered from row passages" in answer.notes
    assert all(source.chunk.kind == "row" for source in answer.sources)


def test_a_number_not_in_the_result_never_reaches_the_user(agent_with_model, fake_openai):
    invented = json.dumps(
        {
            "answer": "The highest per diem in Asia is 75 EUR, in Hong Kong [1].",
            "sources": [1],
            "confidence": 0.9,
        }
    )
    fake_openai.enqueue(
        sql_reply(
            "SELECT city, per_diem_eur FROM per_diem_rates WHERE region = 'Asia' "
            "ORDER BY per_diem_eur DESC LIMIT 1"
        ),
        *[invented] * 4,
    )
    answer = agent_with_model.answer("What is the highest per diem in Asia?")
    assert answer.table.rows == [("Hong Kong", 68)]
    assert "75" not in answer.text and "68" in answer.text and answer.guard_failures >= 1


def test_without_a_model_lookups_quote_a_row_and_aggregates_say_they_need_one(
    table_settings, make_deps
):
    agent = Agent(make_deps(table_settings))
    lookup = agent.answer("What is the per diem for a business trip to Oslo?")
    assert (
        lookup.mode == "extractive" and not lookup.refused and "per_diem_eur: 62.5" in lookup.text
    )
    aggregate = agent.answer("Which office has the most employees?")
    assert aggregate.refused and "no language model is configured" in aggregate.text
    assert aggregate.sources[0].chunk.metadata["table"] == "offices"


def test_without_a_model_a_count_one_row_holds_is_answered_from_that_row(
    settings, make_deps, embedder, tmp_path
):
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store
    from knowledge.tables import TableStore

    folder = tmp_path / "tables"
    folder.mkdir()
    offices = TABLES / "offices.csv"
    shutil.copy(TABLES / "offices.yaml", folder / "offices.yaml")
    (folder / "offices.csv").write_text(
        offices.read_text().rstrip("\n") + "\nLisbon,Portugal,Europe,64,41,no,2021-06-01\n"
        "Porto,Portugal,Europe,22,20,yes,2023-02-13\n"
    )
    store = Store.open(settings.knowledge)
    try:
        Pipeline(
            store, embedder, SparseEncoder(), tables=TableStore(settings.knowledge.tables_path)
        ).run([folder])
    finally:
        store.close()
    agent = Agent(make_deps(settings.replace(answer_cache=False)))
    lookup = agent.answer("How many desks does the Lisbon office have?")
    assert lookup.mode == "extractive" and not lookup.refused
    assert "city: Lisbon" in lookup.text and "desks: 41" in lookup.text
    # Counts over several rows still need a model: Portugal names two offices, "in total" sums.
    for question in (
        "How many offices are in Portugal?",
        "How many desks do the offices in Portugal have in total?",
    ):
        answer = agent.answer(question)
        assert answer.refused and "no language model is configured" in answer.text, question


def test_bot_eval_tables_picks_the_tables_the_chain_would(eval_tables, embedder, tmp_path):
    """A table's passages have their own, lower threshold (e5 scores the 44 table questions
    0.808-0.905); the eval once applied the prose one and left 28 of 44 questions without a
    table, blaming retrieval for what the chain answers."""
    from bot.ops.evals.data import PUBLIC_ACCESS
    from bot.ops.evals.tables import question_tables
    from bot.settings import Settings
    from knowledge.retrieval import Retriever
    from knowledge.settings import KnowledgeSettings
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    folder, _ = eval_tables
    knowledge = KnowledgeSettings(qdrant_path=copy_store(folder / "qdrant", tmp_path / "kb"))
    settings = Settings(knowledge=knowledge)
    questions = [
        json.loads(line)["question"]
        for line in (TABLES / "questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    store = Store.open(knowledge)
    try:
        retriever = Retriever(store, embedder, SparseEncoder())
        below_prose = []
        for question in questions:
            passages = retriever.retrieve(question, knowledge.top_k, access=PUBLIC_ACCESS)
            best = max(p.score for p in passages)
            if knowledge.min_relevance_tables <= best < knowledge.min_relevance:
                below_prose.append(question)
        with_tables = [q for q in questions if question_tables(retriever, q, settings)]
    finally:
        store.close()
    assert below_prose, "no question tests the tables' own threshold any more"
    assert set(below_prose) <= set(with_tables)
    assert len(with_tables) >= 40
