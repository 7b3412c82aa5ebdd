"""Questions embedded on ONNX Runtime give torch's vectors, so an index built on torch stays valid."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge.access import ALL
from knowledge.embeddings import Embedder
from knowledge.errors import SettingsError
from knowledge.onnx_query import CHECK_TEXTS, MIN_COSINE
from knowledge.retrieval import Retriever
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.env import settings_from

QUESTIONS = [
    "How many days of annual leave do I get?",
    "My VPN will not connect, what should I do?",
    "I forgot my password",
    "Can unused vacation days be carried over to next year?",
    "What are the symptoms of COVID-19 and how long do they last?",
    "Is it safe to travel by plane during the pandemic, given that airports are crowded?",
    "expense report deadline",
    "휴가를 다음 해로 이월할 수 있나요?",
    "VPN이 연결되지 않아요",
    "비밀번호를 잊어버렸어요",
    "병가를 내려면 진단서가 필요한가요?",
    "재택근무 신청은 어떻게 하나요? 팀장 승인이 필요한가요?",
    "코로나19 증상은 무엇인가요?",
]


@pytest.fixture(scope="module")
def onnx_embedder(onnx_dir):
    return Embedder(onnx_dir=onnx_dir)


def test_onnx_query_vectors_are_torchs(onnx_embedder, embedder):
    assert onnx_embedder.query_backend == "onnx" and embedder.query_backend == "torch"
    onnx = np.asarray([onnx_embedder.embed_query(q) for q in QUESTIONS])
    torch = np.asarray(embedder.embed_documents(QUESTIONS))
    cosines = (onnx * torch).sum(axis=1)
    assert cosines.min() >= MIN_COSINE, dict(zip(QUESTIONS, cosines.round(6), strict=False))
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)


def test_a_torch_built_index_ranks_the_same_with_onnx_questions(onnx_embedder, embedder, kb_settings):
    store = Store.open(kb_settings.knowledge)
    try:
        on_torch, on_onnx = (Retriever(store, e, SparseEncoder()) for e in (embedder, onnx_embedder))
        for question in QUESTIONS:
            expected = {p.id: p for p in on_torch.retrieve(question, 5, access=ALL)}
            actual = {p.id: p for p in on_onnx.retrieve(question, 5, access=ALL)}
            # Same passages with the same similarities; equal fused (RRF) ranks may swap places.
            assert actual.keys() == expected.keys(), question
            assert [actual[i].score for i in expected] == pytest.approx([p.score for p in expected.values()], abs=1e-4)
    finally:
        store.close()


def test_the_export_is_reused_and_a_damaged_one_is_made_again(onnx_embedder, onnx_dir, tmp_path):
    [model_file] = onnx_dir.glob("*.onnx")
    assert not [p for p in model_file.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind
    exported_at = model_file.stat().st_mtime_ns
    assert Embedder(onnx_dir=onnx_dir).query_backend == "onnx"
    assert model_file.stat().st_mtime_ns == exported_at

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / model_file.name).write_bytes(model_file.read_bytes()[:4096])
    again = Embedder(onnx_dir=damaged)
    assert again.query_backend == "onnx"
    assert again.embed_query(QUESTIONS[0]) == pytest.approx(onnx_embedder.embed_query(QUESTIONS[0]), abs=1e-6)


def test_serving_embeds_questions_on_onnx_unless_told_torch(kb_settings, onnx_dir):
    from bot.deps import build_deps

    deps = build_deps(kb_settings.replace(onnx_path=onnx_dir))
    try:
        assert deps.embedder.query_backend == "onnx" and deps.retriever.embedder is deps.embedder
    finally:
        deps.close()
    deps = build_deps(kb_settings.replace(query_embedding="torch"))
    try:
        assert deps.embedder.query_backend == "torch"
    finally:
        deps.close()


def test_query_embedding_setting():
    assert settings_from({"DATA_DIR": "/srv/kb", "ONNX_DIR": ""}, env_file=None).knowledge.onnx_dir == Path("/srv/kb/onnx")
    assert settings_from({"ONNX_DIR": "/opt/onnx"}, env_file=None).knowledge.onnx_dir == Path("/opt/onnx")
    assert settings_from({"QUERY_EMBEDDING": "Torch"}, env_file=None).knowledge.onnx_dir is None
    with pytest.raises(SettingsError, match=r"QUERY_EMBEDDING=.gpu.: Input should be .onnx. or .torch."):
        settings_from({"QUERY_EMBEDDING": "gpu"}, env_file=None)


SERVING_TURNS = """
import json, sys
from bot.chain.agent import Agent
from bot.deps import build_deps
from bot.settings import load_settings

deps = build_deps(load_settings())
answers = [Agent(deps).answer(question, "T1") for question in sys.argv[1:]]
deps.close()
print(json.dumps({"backend": deps.embedder.query_backend, "modes": [a.mode for a in answers],
                  "sources": [len(a.sources) for a in answers],
                  "loaded": sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)}))
"""


def test_a_worker_that_only_answers_never_imports_torch(onnx_embedder, kb_settings, monkeypatch):
    """With the export and torch's check vectors in ONNX_DIR, serving needs neither torch nor
    sentence-transformers: each costs hundreds of MB in every worker."""
    monkeypatch.setenv("QDRANT_PATH", str(kb_settings.knowledge.qdrant_path))
    monkeypatch.setenv("REDIS_URL", kb_settings.redis_url)
    monkeypatch.setenv("REDIS_PREFIX", kb_settings.redis_prefix)
    [model_file] = Path(os.environ["ONNX_DIR"]).glob("*.onnx")
    assert model_file.with_suffix(".check.json").is_file()
    questions = ["How much can I spend on a hotel?", "and for contractors?", "휴가를 다음 해로 이월할 수 있나요?"]
    run = subprocess.run([sys.executable, "-c", SERVING_TURNS, *questions], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert run.returncode == 0, run.stderr
    served = json.loads(run.stdout.splitlines()[-1])
    assert served["backend"] == "onnx" and served["sources"][0] > 0 and served["modes"][0] == "faq"
    assert served["loaded"] == []


def test_the_check_needs_torch_only_once(onnx_embedder, onnx_dir):
    """torch's vectors for the check are kept beside the export; without them (an export made
    before they were kept, or a damaged file) they are made again."""
    [model_file] = onnx_dir.glob("*.onnx")
    check = model_file.with_suffix(".check.json")
    kept = json.loads(check.read_text())
    assert kept["texts"] == list(CHECK_TEXTS) and len(kept["vectors"][0]) == 384
    check.write_text("{not json")
    assert Embedder(onnx_dir=onnx_dir).query_backend == "onnx"
    assert np.allclose(json.loads(check.read_text())["vectors"], kept["vectors"], atol=1e-6)
