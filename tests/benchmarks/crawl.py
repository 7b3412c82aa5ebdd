"""Crawl benchmark: a 1,000-page website on localhost synced by the website connector, embedding
and writing included (goal <= 60 s on 2 cores), then synced again unchanged (goal: one request
per page, all 304, nothing embedded). Also prints the embedding floor: the same texts embedded
alone, so the crawl's own share shows whatever the machine's load.

    .venv/bin/python -m tests.benchmarks.crawl [--pages 1000] [--threads N] [--json]

`--threads`: the cores the engine embeds on (default: every core, as `ingest sync` does).

Needs Redis at REDIS_URL (the sync state); uses a key prefix of its own and removes it after.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.connectors.website import Website
from ingest.pipeline import Pipeline
from ingest.sync.config import Source
from ingest.sync.runner import sync_source
from ingest.sync.state import SyncState
from knowledge.embeddings import Embedder, ingest_threads
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.benchmarks import print_figures
from tests.benchmarks.crawl_stages import stage_seconds
from tests.fakes.website import FakeSite, page

WORDS = [
    "badge",
    "laptop",
    "travel",
    "expense",
    "receipt",
    "manager",
    "approval",
    "vacation",
    "payroll",
    "office",
    "printer",
    "network",
    "vpn",
    "password",
    "portal",
    "policy",
    "contract",
    "invoice",
    "budget",
    "meeting",
    "training",
    "safety",
    "parking",
    "kitchen",
    "desk",
    "monitor",
    "shipping",
    "supplier",
    "customer",
    "refund",
    "warranty",
    "holiday",
    "overtime",
    "remote",
    "onboarding",
]


def site_pages(count: int, seed: int = 7) -> dict[str, str]:
    """An index, sections of 50 pages each, and `count` pages of ~120 words each, all distinct."""
    rng = random.Random(seed)
    sections = [f"/site/s{n}/" for n in range((count + 49) // 50)]
    pages = {"/site/": page("Intranet", "All sections.", sections)}
    for number in range(count):
        section = sections[number // 50]
        pages.setdefault(section, page(f"Section {section}", "Pages of this section.", []))
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(10)
        ]
        pages[f"{section}p{number}.html"] = page(
            f"Page {number}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
            f"Rule {number}. " + " ".join(sentences),
        )
    for section in sections:
        links = [
            path.removeprefix(section)
            for path in pages
            if path.startswith(section) and path != section
        ]
        pages[section] = page(f"Section {section}", "Pages of this section.", links)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="the engine's cores (INGEST_EMBEDDING_THREADS; default every core)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    threads = args.threads or ingest_threads()
    embedder = Embedder(threads)
    embedder.embed_documents(["warm up"])
    state = SyncState.connect(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        f"bench:{uuid.uuid4().hex[:8]}:",
    )
    with tempfile.TemporaryDirectory() as tmp, FakeSite(site_pages(args.pages)) as site:
        store = Store.open(KnowledgeSettings(qdrant_path=Path(tmp) / "qdrant"))
        try:
            pipeline = Pipeline(store, embedder, SparseEncoder())
            source = Source(
                name="bench",
                kind="website",
                where=f"{site.url}/site/",
                max_pages=args.pages + 100,
            )
            started, cpu = time.perf_counter(), cpu_seconds()
            first = sync_source(source, Website(source), pipeline, state)
            first_s, first_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu
            site.reset_counts()
            started = time.perf_counter()
            second = sync_source(source, Website(source), pipeline, state)
            second_s = time.perf_counter() - started
            second_requests, second_sent = sum(site.requests.values()), sum(site.sent.values())
            chunks = list(store.chunks())
            stages = stage_seconds([f"{site.url}{path}" for path in site.pages], embedder, store)
            # The floor: embedding the same texts alone (chunk texts and headings, as the pipeline does).
            started = time.perf_counter()
            embedder.embed_documents([c.embedding_text for c in chunks])
            texts_s = time.perf_counter() - started
            embedder.embed_documents(list(dict.fromkeys(c.heading for c in chunks if c.heading)))
            floor_s = time.perf_counter() - started
        finally:
            store.close()
            for key in state.client.scan_iter(f"{state.prefix}*"):
                state.client.delete(key)
            state.close()
    print_figures(
        {
            "pages": len(site.pages),
            "documents": first.added,
            "chunks": len(chunks),
            "result": first.result,
            "first_sync_s": round(first_s, 1),
            "first_sync_cpu_s": round(first_cpu_s, 1),
            "pages_per_s": round(first.added / first_s, 1),
            "goal_first_sync_s": 60,
            "embedding_floor_s": round(floor_s, 1),
            "of_which_headings_s": round(floor_s - texts_s, 1),
            **stages,
            "crawl_overhead_s": round(first_s - floor_s, 1),
            "second_sync_s": round(second_s, 1),
            "second_requests": second_requests,
            "second_bodies_sent": second_sent,
            "second_changed": second.added + second.updated,
            **passage_figures(chunks, embedder),
            "embedding_threads": threads,
            "load_average": os.getloadavg()[0],
        },
        args.json,
    )


def passage_figures(chunks: list, embedder: Embedder) -> dict[str, float]:
    """What the engine reads: passages a page, their tokens, and how many texts repeat (each
    distinct text is embedded once)."""
    texts = [c.embedding_text for c in chunks]
    headings = [c.heading for c in chunks if c.heading]
    tokens = [embedder.count_tokens(text) for text in texts]
    return {
        "passages_per_page": round(len(chunks) / max(1, len({c.doc_id for c in chunks})), 2),
        "tokens_per_passage": round(sum(tokens) / max(1, len(tokens)), 1),
        "repeated_passages": len(texts) - len(set(texts)),
        "texts_embedded": len(set(texts) | set(headings)),
    }


def cpu_seconds() -> float:
    """CPU time of this process, every thread: under load it says what the work cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
