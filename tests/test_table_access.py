"""The leak suite for tables: a salary-band table restricted to the HR channel CHR (by its
sidecar) next to the public office list, on real DuckDB, Qdrant, Redis and e5, with the
scripted model on localhost writing the SQL. From outside CHR, no path reaches the table: not
its card or rows, not its schema in the SQL prompt, not its name in SQL the model writes."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chain.agent import Agent
from bot.slack.reindexer import Reindexer
from bot.slack.slash_commands import Commands
from ingest import cli
from ingest.frontmatter import Labels
from ingest.pipeline import Pipeline
from knowledge.access import Access, Asker
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from knowledge.tables import TableStore

TABLES = Path(__file__).parent.parent / "knowledge" / "eval" / "tables"
SALARIES = "level,min_eur,max_eur\nE3,71300,84200\nE4,86100,101700\nE5,104900,122300\n"
SALARY_SIDECAR = (
    "title: Salary bands\ndescription: The yearly salary band of each engineering level.\n"
    "audience: channel:CHR\ntags: [hr, pay]\n"
)
SECRETS = ("71300", "84200", "86100", "101700", "104900", "122300", "71,300", "86,100", "101,700")
QUESTION = "What is the salary band for level E4?"
HR, ELSEWHERE = Asker(user="U1", channel="CHR"), Asker(user="U1", channel="CGEN")
DM = Asker(user="U1", channel="D1", direct=True)


def write_tables(folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(TABLES / "offices.csv", folder)
    shutil.copy(TABLES / "offices.yaml", folder)
    (folder / "salary_bands.csv").write_text(SALARIES)
    (folder / "salary_bands.yaml").write_text(SALARY_SIDECAR)
    return folder


@pytest.fixture
def hr_tables(settings, embedder, tmp_path):
    store = Store.open(settings.knowledge)
    try:
        summary = Pipeline(
            store, embedder, SparseEncoder(), tables=TableStore(settings.knowledge.tables_path)
        ).run([write_tables(tmp_path / "tables")])
    finally:
        store.close()
    assert summary.ok, summary.failed
    return settings.replace(answer_cache=False)


@pytest.fixture
def agent(hr_tables, make_deps, fake_openai):
    return Agent(make_deps(hr_tables.replace(openai_base_url=fake_openai.base_url)))


def sql_reply(sql: str) -> str:
    return json.dumps({"sql": sql})


def leaked(answer) -> list[str]:
    return (
        [p.chunk.title for p in answer.sources if p.chunk.restricted]
        + [secret for secret in SECRETS if secret in answer.text]
        + ([answer.table.sql] if answer.table is not None and "salary" in answer.table.sql else [])
    )


def test_a_table_carries_its_sidecars_audience_in_qdrant_and_the_catalogue(hr_tables):
    store = Store.open(hr_tables.knowledge)
    try:
        chunks = [c for c in store.chunks() if c.metadata.get("table") == "salary_bands"]
        offices = [c for c in store.chunks() if c.metadata.get("table") == "offices"]
        audiences = store.audiences()
    finally:
        store.close()
    assert {c.kind for c in chunks} == {"table", "row"} and len(
        chunks
    ) == 4  # the card and three rows
    assert all(c.audience == ["channel:CHR"] and c.tags == ["hr", "pay"] for c in chunks)
    assert all(c.audience == ["everyone"] for c in offices)
    info = TableStore(hr_tables.knowledge.tables_path).info("salary_bands")
    assert (info.audience, info.tags) == (("channel:CHR",), ("hr", "pay"))
    assert audiences["channel:CHR"] == 1  # a table counts once, not once per row


def test_outside_its_audience_the_table_is_neither_found_nor_queried_by_name(agent, fake_openai):
    for asker in (ELSEWHERE, DM, Asker()):
        # The model names the restricted table outright, then hides it behind a CTE of the same name.
        fake_openai.enqueue(
            sql_reply("SELECT min_eur, max_eur FROM salary_bands WHERE level = 'E4'"),
            sql_reply(
                "WITH salary_bands AS (SELECT * FROM salary_bands) SELECT * FROM salary_bands"
            ),
        )
        asked_before = len(fake_openai.prompts())
        answer = agent.answer(QUESTION, f"{asker.channel}:1", asker)
        assert leaked(answer) == [], asker
        # Nothing readable answers it, so no model is even asked (its scripted SQL goes unused).
        assert len(fake_openai.prompts()) == asked_before, asker
        fake_openai.replies.clear()
    # A question about the public table, with SQL that reads the restricted one by name: rejected twice.
    fake_openai.enqueue(
        sql_reply("SELECT * FROM salary_bands"),
        sql_reply("WITH salary_bands AS (SELECT * FROM salary_bands) SELECT * FROM salary_bands"),
    )
    asked_before = len(fake_openai.prompts())
    answer = agent.answer("Which offices in Germany have parking?", "CGEN:2", ELSEWHERE)
    assert answer.table is None and leaked(answer) == []
    # The model was asked (twice), and what it was first shown never named the restricted table.
    [first, _second, *_] = fake_openai.prompts()[asked_before:]
    assert not any("salary_bands" in m["content"] or "Salary bands" in m["content"] for m in first)
    assert any(
        "sql draft 1 rejected: no table 'salary_bands' here" in note for note in answer.notes
    )
    assert any(
        "sql draft 2 rejected: no table 'salary_bands' here" in note for note in answer.notes
    )


def test_inside_its_audience_the_table_answers_and_its_result_stays_restricted(agent, fake_openai):
    fake_openai.enqueue(sql_reply("SELECT min_eur, max_eur FROM salary_bands WHERE level = 'E4'"))
    answer = agent.answer(QUESTION, "CHR:3.1", HR)
    assert answer.table.rows == [(86100, 101700)] and "86100" in answer.text
    [source] = answer.sources
    assert source.chunk.audience == ["channel:CHR"] and source.chunk.tags == ["hr", "pay"]
    # The thread remembers the answer as restricted: a follow-up asked from a DM does not read it.
    assert agent.deps.memory.recent("CHR:3.1")[-1].audiences == [["channel:CHR"]]
    follow_up = agent.answer("and for E5?", "CHR:3.1", DM)
    assert leaked(follow_up) == [] and follow_up.searched == ""


def test_a_stale_public_card_does_not_open_a_restricted_table(hr_tables, make_deps, fake_openai):
    """The catalogue is checked too: a card indexed while the table was public (the ingest that
    restricted it stopped before it rewrote the passages) reaches the SQL step, which refuses it."""
    deps = make_deps(hr_tables.replace(openai_base_url=fake_openai.base_url))
    [card] = [
        p
        for p in deps.retriever.retrieve(QUESTION, 10, access=Access.of(HR))
        if p.chunk.kind == "table" and p.chunk.metadata["table"] == "salary_bands"
    ]
    stale = replace(card, chunk=replace(card.chunk, audience=["everyone"]))
    fake_openai.enqueue(
        sql_reply("SELECT * FROM salary_bands"), sql_reply("SELECT * FROM salary_bands")
    )
    attempt = deps.table_answers.query(
        deps.cascade.rewriter, QUESTION, [stale], Access.of(ELSEWHERE)
    )
    assert attempt.result is None and attempt.notes == ["tables: none of them may be read here"]
    assert fake_openai.prompts() == []  # not even the schema was shown
    attempt = deps.table_answers.query(deps.cascade.rewriter, QUESTION, [stale], Access.of(HR))
    assert len(attempt.result.rows) == 3


def test_ingest_gives_tables_the_paths_audience_and_counts_them(
    settings, embedder, tmp_path, monkeypatch, capsys
):
    folder = write_tables(tmp_path / "tables")
    (folder / "rota.csv").write_text("week,team\n1,Platform\n2,Payments\n")
    big = "n,square\n" + "".join(
        f"{n},{n * n}\n" for n in range(300)
    )  # no row passages; the card samples 3
    (folder / "squares.csv").write_text(big)
    tables = TableStore(settings.knowledge.tables_path)

    def run(labels=Labels()):
        store = Store.open(settings.knowledge)
        try:
            summary = Pipeline(store, embedder, SparseEncoder(), tables=tables, labels=labels).run(
                [folder]
            )
            return summary, {c.metadata["table"]: c for c in store.chunks() if c.kind == "table"}
        finally:
            store.close()

    summary, cards = run(Labels(("user:U5",), ("ops",)))
    assert summary.ok
    # The sidecar's audience wins over the path's; tags add up; a table saying none takes the path's.
    assert (cards["salary_bands"].audience, cards["salary_bands"].tags) == (
        ["channel:CHR"],
        ["hr", "pay", "ops"],
    )
    assert (
        (cards["rota"].audience, cards["rota"].tags)
        == (["user:U5"], ["ops"])
        == (cards["offices"].audience, cards["offices"].tags)
    )
    assert tables.info("rota").audience == ("user:U5",)
    # The sidecar opens the salary bands to everyone: the next ingest rewrites the card and its rows.
    (folder / "salary_bands.yaml").write_text(SALARY_SIDECAR.replace("channel:CHR", "everyone"))
    # A row no passage shows changes too: the card's content hash changes all the same (cached answers go).
    (folder / "squares.csv").write_text(big.replace("250,62500", "250,62501"))
    before = cards["squares"].content_hash
    summary, cards = run()
    assert summary.updated == 2 and cards["salary_bands"].audience == ["everyone"]
    assert cards["squares"].content_hash != before
    assert tables.info("salary_bands").audience == ("everyone",) and cards["rota"].audience == [
        "user:U5"
    ]
    # Rows cannot carry audiences of their own: the file is refused, the previous version keeps serving.
    (folder / "rota.csv").write_text(
        "week,team,audience\n1,Platform,channel:CHR\n2,Payments,everyone\n"
    )
    summary, cards = run()
    [failed] = summary.failed
    assert (
        failed["path"].endswith("rota.csv")
        and "rows cannot have audiences of their own" in failed["reason"]
    )
    assert tables.info("rota").rows == 2 and "audience" not in {
        c.name for c in tables.info("rota").columns
    }
    assert cards["rota"].audience == ["user:U5"]
    tables.close_reader()
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    monkeypatch.setenv("DATA_DIR", str(settings.knowledge.data_dir))
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "table rota: 2 rows" in out and "for user:U5" in out
    assert "tables per audience: user:U5 3, everyone 1" in out


def test_a_table_answer_is_cached_for_its_audience_and_retired_when_the_table_changes(
    hr_tables, make_deps, fake_openai, embedder, tmp_path
):
    agent = Agent(
        make_deps(hr_tables.replace(answer_cache=True, openai_base_url=fake_openai.base_url))
    )
    fake_openai.enqueue(sql_reply("SELECT min_eur, max_eur FROM salary_bands WHERE level = 'E4'"))
    first = agent.answer(QUESTION, "CHR:5.1", HR)
    assert first.table.rows == [(86100, 101700)] and first.cache_key
    asked = len(fake_openai.prompts())
    again = agent.answer(QUESTION, "CHR:5.2", HR)
    assert again.mode == "cache" and again.table == first.table and again.text == first.text
    assert (
        len(fake_openai.prompts()) == asked
    )  # no model call: the SQL, its rows and the answer came from the cache
    for asker in (ELSEWHERE, DM):
        answer = agent.answer(QUESTION, f"{asker.channel}:5.3", asker)
        assert answer.mode != "cache" and leaked(answer) == [], asker
    # Only the exact wording finds it: a question worded alike may filter the same table otherwise.
    fake_openai.enqueue(sql_reply("SELECT min_eur, max_eur FROM salary_bands WHERE level = 'E3'"))
    assert agent.answer("What is the salary band for level E3?", "CHR:5.4", HR).table.rows == [
        (71300, 84200)
    ]
    # The table changes: the next ingest retires the cached answer.
    folder = tmp_path / "tables"
    (folder / "salary_bands.csv").write_text(SALARIES.replace("101700", "102500"))
    summary = Pipeline(
        agent.deps.store, embedder, SparseEncoder(), tables=agent.deps.table_answers.tables
    ).run([folder])
    assert summary.updated == 1
    fake_openai.enqueue(sql_reply("SELECT min_eur, max_eur FROM salary_bands WHERE level = 'E4'"))
    fresh = agent.answer(QUESTION, "CHR:5.5", HR)
    assert fresh.mode != "cache" and fresh.table.rows == [(86100, 102500)]


def test_kb_status_counts_tables_per_audience(hr_tables, make_deps):
    deps = make_deps(hr_tables.replace(slack_admin_users=frozenset({"UADMIN"})))
    status = Commands(deps, Reindexer(deps)).handle("status", "UADMIN", print, "CGEN")
    assert "*Tables per audience*: channel:CHR 1, everyone 1" in status.splitlines()
    assert [secret for secret in SECRETS if secret in status] == []
    # Without tables, no line about them.
    deps.table_answers.tables.path = hr_tables.knowledge.tables_path.with_name("none.duckdb")
    deps.table_answers.tables.close_reader()
    assert "Tables" not in Commands(deps, Reindexer(deps)).handle("status", "UADMIN", print)
