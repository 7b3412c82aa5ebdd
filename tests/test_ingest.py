import json
import shutil

import pytest

from ingest import cli
from ingest.chunking import Chunker
from ingest.loaders import discover, load
from ingest.pipeline import Pipeline
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.conftest import SAMPLE_KB, SHARED_EVAL


def load_file(path):
    [file] = discover([path])
    return load(file)


@pytest.fixture
def store(settings):
    store = Store.open(settings)
    yield store
    store.close()


@pytest.fixture
def kb_dir(tmp_path):
    return shutil.copytree(SAMPLE_KB, tmp_path / "kb")


def test_sample_kb_ingests_every_manual_section_and_faq_row(store, embedder, kb_dir):
    summary = Pipeline(store, embedder, SparseEncoder()).run([kb_dir])
    assert summary.failed == []
    assert summary.added == len(load_file(kb_dir / "faq.csv")) + len(list((kb_dir / "manuals").glob("*.md")))
    chunks = list(store.chunks())
    assert len(chunks) == summary.chunks_written == store.count()
    assert {c.kind for c in chunks} == {"faq", "doc"}
    meal = [c for c in chunks if c.section == "Meal allowance"]
    assert meal and meal[0].title == "Expense Policy" and "60 EUR" in meal[0].text
    assert meal[0].source == "kb/manuals/expenses.md"
    faq = next(c for c in chunks if c.question == "How many vacation days do I get?")
    assert faq.source.startswith("https://intranet.fjordlight.example/") and faq.metadata["category"] == "HR"


def test_rerun_skips_unchanged_and_replaces_changed_documents(store, embedder, kb_dir):
    pipeline = Pipeline(store, embedder, SparseEncoder())
    first = pipeline.run([kb_dir])
    count = store.count()

    again = pipeline.run([kb_dir])
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (0, 0, first.added, 0)
    assert store.count() == count

    leave = kb_dir / "manuals" / "leave.md"
    leave.write_text(leave.read_text().replace("25 vacation days", "27 vacation days"))
    changed = pipeline.run([kb_dir])
    assert (changed.added, changed.updated) == (0, 1)
    assert store.count() == count
    texts = [c.text for c in store.chunks() if c.doc_id == leave.resolve().as_posix()]
    assert any("27 vacation days" in t for t in texts) and not any("25 vacation days" in t for t in texts)


def test_broken_files_are_reported_and_the_rest_is_ingested(store, embedder, kb_dir):
    (kb_dir / "no-columns.csv").write_text("name,email\nAda,ada@example.com\n")
    (kb_dir / "latin1.txt").write_bytes("Caf\xe9 opening hours".encode("latin-1"))
    summary = Pipeline(store, embedder, SparseEncoder()).run([kb_dir])
    reasons = {f["path"].rsplit("/", 1)[-1]: f["reason"] for f in summary.failed}
    assert set(reasons) == {"no-columns.csv", "latin1.txt"}
    assert "question/answer columns" in reasons["no-columns.csv"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert summary.added == len(load_file(kb_dir / "faq.csv")) + 5


def test_no_chunk_exceeds_what_the_model_reads(embedder):
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
    documents = load_file(SHARED_EVAL / "faq" / "covid_faq.csv")
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
    monkeypatch.setenv("QDRANT_PATH", str(settings.qdrant_path))
    (kb_dir / "broken.csv").write_text("foo,bar\n1,2\n")
    assert cli.main([str(kb_dir), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] > 0 and [f["path"] for f in summary["failed"]] == [str((kb_dir / "broken.csv").resolve())]


def test_cli_says_when_the_embedded_store_is_busy(monkeypatch, settings, kb_dir, capsys):
    holder = Store.open(settings)
    try:
        monkeypatch.setenv("QDRANT_PATH", str(settings.qdrant_path))
        assert cli.main([str(kb_dir)]) == 2
    finally:
        holder.close()
    assert "open in another process" in capsys.readouterr().err
