"""The Slack assistant view's suggested questions, read from a real index (embedded Qdrant)."""

from bot.suggestions import Suggestions
from ingest.pipeline import Pipeline
from knowledge.sparse import SparseEncoder

FAQ = ("question,answer,audience\n"
       '"What is the salary band for level E4?","Between 86,000 and 101,000 EUR a year.",channel:CHR\n'
       '"Where do I find the holiday calendar?","On the intranet page Holidays.",\n')


def ingest(store, embedder, folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    assert Pipeline(store, embedder, SparseEncoder()).run([folder]).ok


def suggested(suggestions) -> list[str]:
    return [prompt["message"] for prompt in suggestions.prompts()]


def test_a_restricted_faq_question_is_never_suggested(store, embedder, tmp_path):
    ingest(store, embedder, tmp_path / "faq", "faq.csv", FAQ)
    assert suggested(Suggestions((), store)) == ["Where do I find the holiday calendar?"]


def test_the_index_is_read_once_per_version_and_an_ingest_is_picked_up(store, embedder, tmp_path):
    ingest(store, embedder, tmp_path / "faq", "faq.csv", FAQ)
    suggestions = Suggestions((), store)
    assert suggested(suggestions) == ["Where do I find the holiday calendar?"]
    # Points deleted without a new index version are not seen: the index was not read again.
    store.delete_points(store.serving_collection(), [chunk.id for chunk in store.chunks()])
    assert suggested(suggestions) == ["Where do I find the holiday calendar?"]
    ingest(store, embedder, tmp_path / "more", "more.csv",
           'question,answer\n"How do I book a meeting room?","In the calendar."\n')
    assert suggested(suggestions) == ["How do I book a meeting room?"]  # an ingest is a new version
