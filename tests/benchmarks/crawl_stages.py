"""Where a crawl's time goes: each stage of a website's first sync run alone over the same pages
(fetch, parse, chunk, sparse vectors, the Qdrant upsert), for tests/benchmarks/crawl.py, which
adds the embedding floor. Each stage is timed as the sync runs it (the fetches 8 at once, the
rest in one thread), so the stages add up to about what the sync costs in CPU."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx
from bs4 import BeautifulSoup

from ingest.chunking import Chunker
from ingest.connectors.website import WORKERS
from ingest.documents import SourceFile
from ingest.loaders import html_document
from knowledge.embeddings import Embedder
from knowledge.sparse import SparseEncoder
from knowledge.store import Store


def stage_seconds(urls: list[str], embedder: Embedder, store: Store) -> dict[str, float]:
    timings: dict[str, float] = {}

    def timed(name: str, work):
        started = time.perf_counter()
        result = work()
        timings[f"stage_{name}_s"] = round(time.perf_counter() - started, 2)
        return result

    with (
        httpx.Client(limits=httpx.Limits(max_connections=WORKERS)) as client,
        ThreadPoolExecutor(WORKERS) as pool,
    ):
        bodies = timed("fetch", lambda: list(pool.map(lambda url: client.get(url).text, urls)))
    docs = timed(
        "parse", lambda: [_parsed(url, body) for url, body in zip(urls, bodies, strict=True)]
    )
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
    chunks = timed("chunk", lambda: [c for doc in docs for c in chunker.chunk(doc)])
    sparse = SparseEncoder()
    texts = [c.embedding_text for c in chunks]
    sparse_vectors = timed("sparse", lambda: [sparse.encode_document(t) for t in texts])
    # The upsert's cost does not depend on the values: random unit-length vectors stand in.
    rng = random.Random(3)
    dense = [_unit([rng.gauss(0, 1) for _ in range(embedder.dimension)]) for _ in chunks]
    collection = store.create_collection(embedder.dimension, embedder.model_name)
    try:
        timed("upsert", lambda: store.upsert(collection, chunks, dense, sparse_vectors, dense))
    finally:
        store.drop_collection(collection)
    return timings


def _parsed(url: str, body: str):
    soup = BeautifulSoup(body, "html.parser")
    soup.find_all("a", href=True)  # the connector reads the links from the same soup
    return html_document(SourceFile(PurePosixPath(urlsplit(url).path), url), soup)


def _unit(vector: list[float]) -> list[float]:
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]
