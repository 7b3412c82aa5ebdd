import json
import shutil

import pytest

from ingest import cli
from ingest.chunking import Chunker
from ingest.faq_tables import TableColumns
from ingest.loaders import discover, load
from ingest.pipeline import Pipeline
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.conftest import EVAL_DATA, SAMPLE_KB, needs_eval_data
from tests.fakes.pdf import write_pdf


def load_file(path):
    [file] = discover([path])
    return load(file)


@pytest.fixture
def kb_dir(tmp_path):
    return shutil.copytree(SAMPLE_KB, tmp_path / "kb")


def test_sample_kb_ingests_every_manual_section_and_faq_row(store, embedder, kb_dir):
    summary = Pipeline(store, embedder, SparseEncoder()).run([kb_dir])
    assert summary.failed == []
    assert summary.added == len(load_file(kb_dir / "faq.csv")) + len(list(kb_dir.rglob("*.md")))
    chunks = list(store.chunks())
    assert len(chunks) == summary.chunks_written == store.count()
    assert {c.kind for c in chunks} == {"faq", "doc"}
    meal = [c for c in chunks if c.section == "Meal allowance"]
    assert meal and meal[0].title == "Expense Policy" and "60 EUR" in meal[0].text
    assert meal[0].source == "kb/manuals/expenses.md"
    faq = next(c for c in chunks if c.question == "How many vacation days do I get?")
    assert (
        faq.source.startswith("https://intranet.fjordlight.example/")
        and faq.metadata["category"] == "HR"
    )


def test_rerun_skips_unchanged_and_replaces_changed_documents(store, embedder, kb_dir):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    first = pipeline.run([kb_dir])
    count = store.count()

    again = pipeline.run([kb_dir])
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (
        0,
        0,
        first.added,
        0,
    )
    assert store.count() == count

    leave = kb_dir / "manuals" / "leave.md"
    leave.write_text(leave.read_text().replace("25 vacation days", "27 vacation days"))
    changed = pipeline.run([kb_dir])
    assert (changed.added, changed.updated) == (0, 1)
    assert store.count() == count
    texts = [c.text for c in store.chunks() if c.doc_id == leave.resolve().as_posix()]
    assert any("27 vacation days" in t for t in texts) and not any(
        "25 vacation days" in t for t in texts
    )


def test_broken_files_are_reported_and_the_rest_is_ingested(store, embedder, kb_dir):
    # With --question-col, a CSV is an FAQ, never a table: one without that column is an error.
    (kb_dir / "no-columns.csv").write_text("name,email\nAda,ada@example.com\n")
    (kb_dir / "latin1.txt").write_bytes("Caf\xe9 opening hours".encode("latin-1"))
    summary = Pipeline(store, embedder, SparseEncoder(), TableColumns(question="question")).run(
        [kb_dir]
    )
    reasons = {f["path"].rsplit("/", 1)[-1]: f["reason"] for f in summary.failed}
    assert set(reasons) == {"no-columns.csv", "latin1.txt"}
    assert (
        "no column 'question'" in reasons["no-columns.csv"]
        and "--question-col" in reasons["no-columns.csv"]
    )
    assert "UTF-8" in reasons["latin1.txt"]
    assert summary.added == len(load_file(kb_dir / "faq.csv")) + len(list(kb_dir.rglob("*.md")))


def test_html_keeps_headings_as_sections_and_drops_page_chrome(store, embedder, tmp_path):
    page = tmp_path / "docs" / "parking.html"
    page.parent.mkdir()
    page.write_text("""<html><head><title>Parking | Intranet</title>
        <link rel="canonical" href="https://intranet.example/parking"><script>var tracking = 1;</script></head>
        <body><nav>Home | News | Login</nav><h1>Parking Guide</h1><p>Read this <b>before</b> you drive in.</p>
        <h2>Visitors</h2><p>Visitors park in lot C.</p><ul><li>Register at reception</li></ul>
        <h2>Bikes</h2><p>Bikes go in the cellar.</p><footer>(c) 2026</footer></body></html>""")
    summary = Pipeline(store, embedder, SparseEncoder()).run([page.parent])
    assert summary.ok and summary.added == 1
    chunks = {c.section: c for c in store.chunks()}
    assert chunks["Visitors"].text == "Visitors park in lot C.\n- Register at reception"
    assert (
        chunks["Bikes"].title == "Parking Guide"
        and chunks["Bikes"].source == "https://intranet.example/parking"
    )
    assert "Read this before you drive in." in chunks[""].text
    everything = " ".join(c.text for c in chunks.values())
    assert (
        "tracking" not in everything and "Login" not in everything and "(c) 2026" not in everything
    )


def test_pdf_pages_become_sections_and_a_corrupt_pdf_fails_alone(store, embedder, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(
        docs / "facilities.pdf",
        [["Parking", "Staff park in lot B."], ["Bikes go in the cellar."]],
        title="Facilities Guide",
    )
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (docs / "notes.txt").write_text("The canteen opens at 11:30.")
    summary = Pipeline(store, embedder, SparseEncoder()).run([docs])
    assert summary.added == 2
    [failure] = summary.failed
    assert failure["path"].endswith("broken.pdf") and "not a readable PDF" in failure["reason"]
    pages = {c.section: c for c in store.chunks() if c.doc_id.endswith("facilities.pdf")}
    assert set(pages) == {"page 1", "page 2"}
    assert (
        pages["page 2"].text == "Bikes go in the cellar."
        and pages["page 1"].title == "Facilities Guide"
    )


def test_markdown_front_matter_gives_title_link_and_metadata(tmp_path):
    page = tmp_path / "wifi.md"
    page.write_text(
        "---\ntitle: Guest Wi-Fi\nlink: https://intranet.example/wifi\nowner: IT\n"
        "updated: 2026-03-01\n---\nThe guest network is *Fjord-Guest*.\n"
    )
    [doc] = load_file(page)
    assert (doc.title, doc.source) == ("Guest Wi-Fi", "https://intranet.example/wifi")
    assert doc.metadata == {"owner": "IT", "updated": "2026-03-01"}
    assert doc.text.strip() == "The guest network is *Fjord-Guest*."


def test_csv_columns_can_be_named_and_a_wrong_name_says_what_exists(tmp_path):
    from ingest.errors import UnreadableSource
    from ingest.faq_tables import TableColumns

    table = tmp_path / "help.csv"
    table.write_text(
        "prompt;reply;page;team\nHow do I reset my password?;Use the self-service portal.;"
        "https://intranet.example/pw;IT\n"
    )
    [file] = discover([table])
    [row] = load(file, TableColumns(question="Prompt", answer="reply", link="page"))
    assert (row.question, row.answer, row.source, row.metadata) == (
        "How do I reset my password?",
        "Use the self-service portal.",
        "https://intranet.example/pw",
        {"page": "https://intranet.example/pw", "team": "IT"},
    )
    with pytest.raises(
        UnreadableSource, match=r"no column 'body' \(from --answer-col\) among \['prompt'"
    ):
        load(file, TableColumns(question="prompt", answer="body"))


def test_prune_deletes_documents_whose_files_are_gone_and_rows_removed_from_a_table(
    store, embedder, kb_dir
):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    pipeline.run([kb_dir])
    (kb_dir / "manuals" / "travel.md").unlink()
    faq = kb_dir / "faq.csv"
    lines = faq.read_text().splitlines(keepends=True)
    faq.write_text("".join(lines[:-1]))
    travel = (kb_dir / "manuals" / "travel.md").resolve().as_posix()

    kept = pipeline.run([kb_dir])
    assert kept.deleted == 1, "the removed row goes; the missing file stays without --prune"
    assert any(c.doc_id == travel for c in store.chunks())

    pruned = pipeline.run([kb_dir], prune=True)
    assert (pruned.deleted, pruned.unchanged) == (
        1,
        len(lines) - 2 + len(list(kb_dir.rglob("*.md"))),
    )
    assert pruned.changes["deleted"] == [travel]
    assert not any(c.doc_id == travel for c in store.chunks())
    assert store.count() == sum(1 for _ in store.chunks())


def test_dry_run_reports_changes_and_writes_nothing(store, embedder, kb_dir):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    first = pipeline.run([kb_dir], dry_run=True)
    assert first.dry_run and first.added > 0 and first.chunks_written == 0
    assert store.serving_collection() is None
    pipeline.run([kb_dir])
    before = store.count()
    (kb_dir / "manuals" / "leave.md").write_text("# Leave\n\nEveryone gets 31 leave days.\n")
    (kb_dir / "manuals" / "travel.md").unlink()
    plan = pipeline.run([kb_dir], dry_run=True, prune=True)
    assert (plan.added, plan.updated, plan.deleted) == (0, 1, 1)
    assert plan.changes["updated"] == ["kb/manuals/leave.md"]
    assert store.count() == before and not any("31 leave days" in c.text for c in store.chunks())


def test_an_interrupted_write_is_redone_on_the_next_run(store, embedder, kb_dir):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    pipeline.run([kb_dir])
    expenses = (kb_dir / "manuals" / "expenses.md").resolve().as_posix()
    some_chunk = next(c for c in store.chunks() if c.doc_id == expenses)
    store.delete_points(
        store.serving_collection(), [some_chunk.id]
    )  # as if the run died mid-document

    again = pipeline.run([kb_dir])
    assert again.updated == 1 and again.changes["updated"] == ["kb/manuals/expenses.md"]
    assert any(c.id == some_chunk.id for c in store.chunks())


def test_rebuild_swaps_atomically_keeps_one_previous_build_and_rolls_back(store, embedder, kb_dir):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    first = pipeline.run([kb_dir])
    count = store.count()
    second = pipeline.rebuild([kb_dir])
    assert second.rebuilt and second.collection != first.collection
    assert store.serving_collection() == second.collection and store.count() == count
    assert store.previous_collection() == first.collection

    third = pipeline.rebuild([kb_dir])
    assert store.builds() == [second.collection, third.collection], "older builds are removed"

    store.point_alias_at(store.previous_collection())  # what `ingest rollback` does
    assert store.serving_collection() == second.collection and store.count() == count


def test_a_failed_or_interrupted_rebuild_leaves_the_old_index_serving(store, embedder, kb_dir):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    serving = pipeline.run([kb_dir]).collection
    (kb_dir / "broken.txt").write_bytes("Caf\xe9".encode("latin-1"))
    abandoned = pipeline.rebuild([kb_dir])
    assert abandoned.abandoned and not abandoned.rebuilt and abandoned.collection == serving
    (kb_dir / "broken.txt").unlink()

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline.rebuild([kb_dir], progress=interrupt)
    assert store.serving_collection() == serving and store.builds() == [serving]


@needs_eval_data
def test_no_chunk_exceeds_what_the_model_reads(embedder):
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
    documents = load_file(EVAL_DATA / "faq" / "covid_faq.csv")
    chunks = [c for doc in documents for c in chunker.chunk(doc)]
    longest = max(embedder.count_tokens(c.embedding_text) for c in chunks)
    assert len(chunks) > len(documents), "long answers must be split"
    assert longest <= embedder.max_tokens - 2
    # Splitting loses nothing: every word of every answer is in one of its chunks.
    for doc in documents[:40]:
        words = set(doc.answer.split())
        covered = set(" ".join(c.text for c in chunks if c.doc_id == doc.doc_id).split())
        assert words <= covered


def test_cli_missing_path_exits_2_and_names_it(capsys):
    assert cli.main(["does-not-exist"]) == 2
    assert "does-not-exist" in capsys.readouterr().err


def test_cli_json_summary_and_exit_code_1_on_failure(monkeypatch, settings, kb_dir, capsys):
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    (kb_dir / "broken.txt").write_bytes("Caf\xe9".encode("latin-1"))
    assert cli.main([str(kb_dir), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] > 0 and [f["path"] for f in summary["failed"]] == [
        str((kb_dir / "broken.txt").resolve())
    ]


def test_cli_says_when_the_embedded_store_is_busy(monkeypatch, settings, kb_dir, capsys):
    holder = Store.open(settings.knowledge)
    try:
        monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
        assert cli.main([str(kb_dir)]) == 2
    finally:
        holder.close()
    assert "open in another process" in capsys.readouterr().err


def test_cli_status_and_rollback(monkeypatch, settings, kb_dir, capsys):
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    assert cli.main(["rollback"]) == 2
    assert "nothing to roll back" in capsys.readouterr().err
    assert cli.main([str(kb_dir)]) == 0
    assert cli.main([str(kb_dir), "--rebuild"]) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (
        status["documents"] > 0
        and status["previous"]
        and status["sources"] == [str(kb_dir.resolve())]
    )
    assert cli.main(["rollback"]) == 0
    assert f"now serving {status['previous']}" in capsys.readouterr().out


def test_a_question_asked_in_two_rows_keeps_both_answers_and_reruns_change_nothing(
    store, embedder, tmp_path
):
    table = tmp_path / "faq.csv"
    table.write_text(
        "question,answer\n"
        "Can I wear a mask at work?,The WHO says masks help in crowded rooms.\n"
        "How long is quarantine?,Five days.\n"
        "Can I wear a mask at work?,The CDC says a mask is optional in the office.\n"
    )
    pipeline = Pipeline(store, embedder, SparseEncoder())
    first = pipeline.run([table])
    assert first.added == 3 and first.ok
    assert first.notes == [
        f"{table.name}: 2 rows ask 'Can I wear a mask at work?'; each is kept as its own answer"
    ]
    texts = {c.text for c in store.chunks()}
    assert {
        "The WHO says masks help in crowded rooms.",
        "The CDC says a mask is optional in the office.",
    } <= texts
    again = pipeline.run([table])
    assert (again.added, again.updated, again.unchanged, again.deleted) == (0, 0, 3, 0)


def test_a_text_that_repeats_is_embedded_once(store, embedder, tmp_path):
    """The same page in two folders: its passages are embedded once, and both are written."""
    for folder in ("hr", "archive"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "leave.md").write_text(
            "# Leave\n\n## Carry-over\n\nUp to 5 days carry over to March.\n"
        )
    asked: list[str] = []
    spy = embedder.batched(32)  # the same model; records what it is asked to embed
    spy.embed_documents = lambda texts: asked.extend(texts) or embedder.embed_documents(texts)
    summary = Pipeline(store, spy, SparseEncoder()).run([tmp_path])
    chunks = list(store.chunks())
    assert summary.added == 2 and len(chunks) == 2
    assert {c.embedding_text for c in chunks} | {c.heading for c in chunks} == set(asked)
    assert len(asked) == len(set(asked)) == 2  # the passage and its heading, once each


def test_a_folder_named_like_a_command_is_ingested(monkeypatch, settings, tmp_path, capsys):
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    folder = tmp_path / "status"
    folder.mkdir()
    (folder / "page.md").write_text("# Page\nBody text about the status page.\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 1
