"""The store on both engines: Qdrant Edge (embedded, the default) and qdrant-client (what
talks to a Qdrant server; its local mode runs the same calls here, with no server)."""

import threading

import pytest

from ingest.pipeline import Pipeline
from knowledge.access import ALL
from knowledge.embeddings import MODEL_NAME
from knowledge.engines import ClientEngine, EdgeEngine
from knowledge.errors import EmptyKnowledgeBase, IndexModelMismatch, StoreLocked
from knowledge.retrieval import Retriever
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.conftest import SAMPLE_KB

QUESTIONS = [
    "How many vacation days do I get?",
    "hotel limit per night",
    "phishing e-mail report",
    "and for contractors?",
    "VPN이 연결되지 않아요",
]
KOREAN = {
    "남은 연차휴가를 내년에 써도 되나요?": "휴가 규정 > 연차 휴가",
    "법인카드로 LLM API 요금 내도 돼요?": "경비 처리 규정 > 클라우드와 LLM API 비용",
    "출장 가면 하루 일비가 얼마 나오나요": "출장 규정 > 출장 일비",
}
"""Korean questions in other inflections and spacing than their sections' text."""


def open_store(kind: str, path) -> Store:
    engine = EdgeEngine(path) if kind == "edge" else ClientEngine.local(path)
    return Store(engine, "kb")


@pytest.fixture(params=["edge", "client"])
def store(request, tmp_path):
    store = open_store(request.param, tmp_path / request.param)
    yield store
    store.close()


def test_an_empty_store_says_so(store, embedder):
    assert store.serving_collection() is None and store.count() == 0 and store.info() is None
    with pytest.raises(EmptyKnowledgeBase):
        Retriever(store, embedder, SparseEncoder()).retrieve("anything", 5, access=ALL)


def test_an_index_another_model_wrote_is_refused_until_rebuilt(store, embedder):
    """A build of an earlier version records no model (MiniLM wrote it): its vectors are never
    searched with e5's questions, nor added to; `ingest --rebuild` replaces it."""
    manuals = [SAMPLE_KB / "manuals" / "travel.md"]
    pipeline = Pipeline(store, embedder, SparseEncoder())
    pipeline.run(manuals)
    collection = store.serving_collection()
    assert store.engine.metadata(collection)["embedding_model"] == MODEL_NAME == embedder.model_name
    # As an earlier build left it: no model (Qdrant merges metadata, so a key is unset by None).
    store.engine.set_metadata(
        collection, {**store.engine.metadata(collection), "embedding_model": None}
    )
    store.point_alias_at(collection)  # a swap: the store reads the serving collection again
    retriever = Retriever(store, embedder, SparseEncoder())
    for refused in (
        lambda: retriever.retrieve("hotel limit per night", 5, access=ALL),
        lambda: pipeline.run(manuals),
    ):
        with pytest.raises(
            IndexModelMismatch,
            match=r"built with the embedding model all-MiniLM-L6-v2.*"
            r"ingest --rebuild",
        ):
            refused()
    assert pipeline.rebuild(manuals).rebuilt
    assert store.info().model == MODEL_NAME
    assert (
        retriever.retrieve("hotel limit per night", 5, access=ALL)[0].chunk.title == "Travel Policy"
    )


def test_aliases_metadata_and_builds(store):
    first, second = (
        store.create_collection(384, MODEL_NAME),
        store.create_collection(384, MODEL_NAME),
    )
    store.point_alias_at(first)
    store.record_ingest(first, ["/kb"])
    store.record_ingest(first, ["/more"])
    assert store.serving_collection() == first and store.version() == f"{first}.2"
    store.point_alias_at(second)
    assert (store.serving_collection(), store.previous_collection()) == (second, first)
    third = store.create_collection(384, MODEL_NAME)
    store.point_alias_at(third)
    assert store.drop_old_collections(keep=2) == [first] and store.builds() == [second, third]


def test_a_store_sees_its_own_ingests_at_once_and_anothers_within_its_ttl(store, monkeypatch):
    """The serving collection, revision and audiences come in one read, kept SERVING_TTL_S: a
    second Store on the same engine stands in for another worker."""
    import knowledge.store

    monkeypatch.setattr(knowledge.store, "SERVING_TTL_S", 3600.0)
    other = Store(store.engine, "kb")
    assert other.serving().version == ""
    collection = store.create_collection(384, MODEL_NAME)
    store.point_alias_at(collection)
    store.record_ingest(collection, ["/kb"])
    assert (store.serving().collection, store.version()) == (collection, f"{collection}.1")
    assert other.version() == ""  # read before the ingest, and not yet expired
    monkeypatch.setattr(knowledge.store, "SERVING_TTL_S", 0.0)
    assert other.serving() == store.serving() and other.version() == f"{collection}.1"


def test_a_swap_during_a_read_is_not_kept_as_fresh(store, monkeypatch):
    """A turn reading the serving collection while this worker swaps it (`/kb reindex`) must not
    keep the old one as current for SERVING_TTL_S."""
    import knowledge.store

    monkeypatch.setattr(knowledge.store, "SERVING_TTL_S", 3600.0)
    old, new = store.create_collection(384, MODEL_NAME), store.create_collection(384, MODEL_NAME)
    store.point_alias_at(old)
    read_metadata = store.engine.metadata

    def swapped_meanwhile(collection):
        monkeypatch.setattr(store.engine, "metadata", read_metadata)
        store.point_alias_at(new)  # lands after the alias was read, before the read is kept
        return read_metadata(collection)

    monkeypatch.setattr(store.engine, "metadata", swapped_meanwhile)
    assert store.serving().collection == old  # what was served when the read began
    assert store.serving().collection == new


def test_both_engines_rank_alike(tmp_path, embedder):
    rankings = {}
    for kind in ("edge", "client"):
        store = open_store(kind, tmp_path / kind)
        try:
            Pipeline(store, embedder, SparseEncoder()).run([SAMPLE_KB])
            retriever = Retriever(store, embedder, SparseEncoder())
            rankings[kind] = {
                q: [
                    (p.chunk.doc_id, p.chunk.position) for p in retriever.retrieve(q, 5, access=ALL)
                ]
                for q in QUESTIONS
            }
            rankings[kind]["dense-only"] = [
                p.id for p in retriever.retrieve(QUESTIONS[0], 5, mode="dense", access=ALL)
            ]
            for question, section in KOREAN.items():
                best = retriever.retrieve(question, 5, access=ALL)[0]
                assert (
                    best.chunk.heading == section
                    and best.score >= KnowledgeSettings().min_relevance_ko
                ), (kind, question)
            # What the answer cache checks a hit against: the content hashes of the chunks it cites.
            best = retriever.retrieve(QUESTIONS[0], 1, access=ALL)[0]
            assert store.content_hashes([best.id, "00000000-0000-0000-0000-000000000000"]) == {
                best.id: best.chunk.content_hash
            }
        finally:
            store.close()
    # The same five in the same order: equal fused scores are ordered alike (by cosine, then id).
    assert rankings["edge"] == rankings["client"]


def test_points_with_equal_scores_come_back_in_one_order_whatever_their_insertion_order(store):
    """Equal scores, the engine's order among them left to chance, in both kinds of query. Dense
    alone: twelve points with one vector, cut at three (more tie than the engine is first asked
    for), ordered by id. Fused: four points ranked 1-2-3-4 by meaning and 2-1-4-3 by keywords, so
    the first two tie at 1/(k+1) + 1/(k+2), and so do the last two: the one closer in meaning
    first, though its id sorts after the other's."""
    import uuid

    from knowledge.engines.base import DENSE, QUESTION, SPARSE
    from knowledge.sparse import SparseVector

    def point_id(name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    query = [1.0, 0.0, 0.0, 0.0]
    same = {point_id(f"same-{n}"): {DENSE: query, QUESTION: query} for n in range(12)}
    # Largest id first: ordered by id, each tied pair would come back the other way round.
    by_meaning = sorted((point_id(f"fused-{n}") for n in range(4)), reverse=True)
    fused = {
        key: {
            DENSE: [cosine, (1 - cosine**2) ** 0.5, 0.0, 0.0],
            QUESTION: query,
            SPARSE: SparseVector([7], [weight]),
        }
        for key, (cosine, weight) in zip(
            by_meaning, [(1.0, 0.9), (0.9, 1.0), (0.8, 0.7), (0.6, 0.8)], strict=True
        )
    }
    rankings = {}
    for order in ("ascending", "descending"):
        collection = store.create_collection(4, MODEL_NAME)
        for points in (same, fused):
            for key in sorted(
                points, reverse=order == "descending"
            ):  # one upsert each: the engine sees this order
                store.engine.upsert(collection, [(key, points[key], {"text": key})])
        rankings[order] = {
            "dense": [hit.id for hit in store.engine.query(collection, [(DENSE, query)], 3, 12)],
            "fused": [
                hit.id
                for hit in store.engine.query(
                    collection,
                    [(DENSE, query), (SPARSE, SparseVector([7], [1.0]))],
                    3,
                    12,
                    clauses=[{"text": list(fused)}],
                )
            ],
        }
    expected = {"dense": sorted(same)[:3], "fused": by_meaning[:3]}
    assert rankings == {"ascending": expected, "descending": expected}


def test_fused_scores_a_rounding_error_apart_are_a_tie():
    """An engine sums each point's sides in its own order, in single precision: 1/3 + 1/6 and
    1/6 + 1/3 need not be the same float. Such near-equal scores are ordered by meaning too."""
    from types import SimpleNamespace

    from knowledge.engines.base import DENSE, settle_ties

    def hit(name: str, score: float, cosine: float) -> SimpleNamespace:
        return SimpleNamespace(id=name, score=score, vector={DENSE: [cosine, 0.0]})

    hits = [hit("a", 0.5 + 3e-8, 0.2), hit("b", 0.5, 0.9), hit("c", 0.45, 1.0)]
    assert [p.id for p in settle_ties(lambda n: hits[:n], 2, [1.0, 0.0])] == ["b", "a"]


def test_the_embedded_store_has_one_owner(tmp_path):
    holder = Store.open(KnowledgeSettings(qdrant_path=tmp_path))
    try:
        with pytest.raises(StoreLocked, match="open in another process"):
            Store.open(KnowledgeSettings(qdrant_path=tmp_path))
    finally:
        holder.close()
    Store.open(KnowledgeSettings(qdrant_path=tmp_path)).close()  # free again once the holder closes


def test_the_first_questions_of_a_busy_worker_load_the_index_once(kb_settings, embedder):
    """Eight threads ask at once in a process that has not read the index yet."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    store = Store.open(kb_settings.knowledge)
    vector = embedder.embed_query("How much can I spend on a hotel?")
    sparse = SparseEncoder().encode_query("How much can I spend on a hotel?")
    start = threading.Barrier(8)

    def ask(_):
        start.wait(timeout=30)
        return store.search(vector, sparse, 3, access=ALL)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(ask, range(8)))
        assert all(r and r[0].id == results[0][0].id for r in results)
    finally:
        store.close()


def test_dropping_a_collection_waits_for_a_shard_being_loaded(tmp_path):
    engine = EdgeEngine(tmp_path / "edge")
    try:
        engine.create("old", 384)
        with engine._loading:  # another thread is loading a shard
            dropper = threading.Thread(target=engine.drop, args=("old",))
            dropper.start()
            dropper.join(0.5)  # room to remove the files under the load, were it not waited for
            assert dropper.is_alive() and (tmp_path / "edge" / "collections" / "old").is_dir()
        dropper.join()
        assert engine.collections() == []
    finally:
        engine.close()
