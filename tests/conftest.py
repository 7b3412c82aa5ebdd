"""Real parts everywhere: real Redis (a key prefix per test), real embedded Qdrant (Qdrant Edge)
in a temporary directory, real multilingual-e5 embeddings. Fakes only at our own seams: an
OpenAI-compatible server and a Slack Web API, both on localhost."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import redis

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.settings import DEFAULT_EVAL_DATA, EVAL_DATA_HELP, Settings
from guards.settings import GuardSettings
from ingest.settings import IngestSettings
from knowledge.settings import KnowledgeSettings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "knowledge" / "sample"
EVAL_DATA = Path(os.environ.get("EVAL_DATA_DIR") or DEFAULT_EVAL_DATA).resolve()
"""The public evaluation data (EVAL_DATA_DIR, by default ../shared/eval); tests that need it skip without it."""
needs_eval_data = pytest.mark.skipif(
    not (EVAL_DATA / "faq").is_dir(),
    reason=f"needs the public evaluation data at {EVAL_DATA}: {EVAL_DATA_HELP}",
)
# Every variable a settings class reads, except where the tests' Redis and evaluation data are.
ISOLATED_ENV = sorted(
    {
        field.validation_alias
        for part in (Settings, KnowledgeSettings, GuardSettings, IngestSettings)
        for field in part.model_fields.values()
        if isinstance(field.validation_alias, str)
    }
    - {"REDIS_URL", "EVAL_DATA_DIR"}
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No developer settings or .env leak into a test; each runs in its own directory."""
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "EVAL_DATA_DIR", str(EVAL_DATA)
    )  # the same data for every `bot eval` a test runs
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.exit(
            f"Tests need a Redis at REDIS_URL={url} ({error}); run them with `python3 bot/bootstrap.py test`."
        )
    return url


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client):
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(redis_client.scan_iter(f"{prefix}*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(scope="session")
def embedder():
    from knowledge.embeddings import Embedder

    return Embedder()


@pytest.fixture
def settings(tmp_path, redis_url, redis_prefix) -> Settings:
    """Settings for an empty embedded store in this test's directory."""
    return Settings(
        knowledge=KnowledgeSettings(data_dir=tmp_path, qdrant_path=tmp_path / "qdrant"),
        redis_url=redis_url,
        redis_prefix=redis_prefix,
    )


@pytest.fixture
def store(settings):
    """The empty embedded store of `settings`, closed after the test."""
    from knowledge.store import Store

    store = Store.open(settings.knowledge)
    yield store
    store.close()


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory, embedder) -> Path:
    """The sample knowledge base, ingested once per session; tests get a copy."""
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    path = tmp_path_factory.mktemp("sample") / "qdrant"
    store = Store.open(KnowledgeSettings(qdrant_path=path))
    try:
        summary = Pipeline(store, embedder, SparseEncoder()).run([SAMPLE_KB])
    finally:
        store.close()
    assert summary.ok and summary.added > 0
    return path


@pytest.fixture(scope="session")
def eval_tables(tmp_path_factory, embedder):
    """The evaluation tables (knowledge/eval/tables), ingested once per session: (folder, summary);
    the folder holds `qdrant` and `tables.duckdb`. Tests copy what they change."""
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store
    from knowledge.tables import TableStore

    folder = tmp_path_factory.mktemp("eval-tables")
    store = Store.open(KnowledgeSettings(qdrant_path=folder / "qdrant"))
    try:
        summary = Pipeline(
            store, embedder, SparseEncoder(), tables=TableStore(folder / "tables.duckdb")
        ).run([ROOT / "knowledge" / "eval" / "tables"])
    finally:
        store.close()
    return folder, summary


def copy_store(source: Path, target: Path) -> Path:
    """A copy of an embedded store that keeps its files sparse: Qdrant preallocates 32 MB pages, and a
    plain copy writes their zeros out (219 MB per test for the 1.4 MB sample store; a run filled the disk)."""
    subprocess.run(["cp", "-r", "--sparse=always", str(source), str(target)], check=True)
    return target


@pytest.fixture
def kb_settings(settings, sample_store, tmp_path) -> Settings:
    copy_store(sample_store, tmp_path / "kb")
    return settings.replace(qdrant_path=tmp_path / "kb")


@pytest.fixture
def make_deps(embedder):
    from bot.deps import build_deps

    built = []

    def make(settings: Settings, metrics: bool = False):
        deps = build_deps(settings, embedder=embedder, metrics=metrics)
        built.append(deps)
        return deps

    yield make
    for deps in built:
        deps.close()


@pytest.fixture
def fake_openai():
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_slack():
    from tests.fakes.slack_api import FakeSlack

    with FakeSlack() as server:
        yield server


# Fixtures several test files use, defined beside their helpers.
from tests.access_helpers import restricted_settings  # noqa: E402, F401
from tests.slack_helpers import app, make_app, slack_settings, turns  # noqa: E402, F401
