"""The Slack assistant view's suggested questions, read from a real index (embedded Qdrant)."""

from dataclasses import replace

from bot.slack.suggestions import Suggestions
from ingest.pipeline import Pipeline
from knowledge.sparse import SparseEncoder

FAQ = (
    "question,answer,audience\n"
    '"What is the salary band for level E4?","Between 86,000 and 101,000 EUR a year.",channel:CHR\n'
    '"Where do I find the holiday calendar?","On the intranet page Holidays.",\n'
)


def ingest(store, embedder, folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    assert Pipeline(store, embedder, SparseEncoder()).run([folder]).ok


def suggested(suggestions) -> list[str]:
    return [prompt["message"] for prompt in suggestions.prompts()]


def test_a_restricted_faq_question_is_never_suggested(store, embedder, tmp_path):
    ingest(store, embedder, tmp_path / "faq", "faq.csv", FAQ)
    assert suggested(Suggestions((), store)) == ["Where do I find the holiday calendar?"]


def test_a_row_restricted_without_a_new_index_version_is_no_longer_suggested(
    store, embedder, tmp_path
):
    ingest(store, embedder, tmp_path / "faq", "faq.csv", FAQ)
    suggestions = Suggestions((), store)
    assert suggested(suggestions) == ["Where do I find the holiday calendar?"]
    # An in-place ingest that wrote the row restricted and stopped before recording a new version.
    version = store.version()
    [row] = [c for c in store.chunks() if c.question == "Where do I find the holiday calendar?"]
    restricted = replace(row, audience=["channel:CHR"])
    store.upsert(
        store.serving_collection(),
        [restricted],
        embedder.embed_documents([row.embedding_text]),
        [SparseEncoder().encode_document(row.embedding_text)],
        [embedder.embed_documents([row.heading])[0]],
    )
    assert store.version() == version and suggested(suggestions) == []


def test_an_ingest_is_picked_up(store, embedder, tmp_path):
    ingest(store, embedder, tmp_path / "faq", "faq.csv", FAQ)
    suggestions = Suggestions((), store)
    assert suggested(suggestions) == ["Where do I find the holiday calendar?"]
    ingest(
        store,
        embedder,
        tmp_path / "more",
        "more.csv",
        'question,answer\n"How do I book a meeting room?","In the calendar."\n',
    )
    # An ingest is a new version: the index is read again.
    assert sorted(suggested(suggestions)) == [
        "How do I book a meeting room?",
        "Where do I find the holiday calendar?",
    ]
