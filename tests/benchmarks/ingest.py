"""Ingest benchmark: a corpus of >= 10,000 chunks, whole ingest against the embedding floor.

    .venv/bin/python -m tests.benchmarks.ingest [--copies 40] [--json]

The corpus is the COVID FAQ from ../shared/eval/faq written out as `--copies` regional
FAQ tables (each row tagged with its region, so every document is distinct). Prints:
chunks/s for the whole ingest, chunks/s for embedding the same chunk texts alone (the
floor), their ratio (goal >= 0.8), and the time of a second, unchanged run (goal: >= 20x
faster than the first).
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.settings import load_settings
from ingest.chunking import Chunker
from ingest.loaders import discover, load
from ingest.pipeline import Pipeline
from knowledge.embeddings import Embedder
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.benchmarks import print_figures

COVID_FAQ = load_settings(env_file=None).eval_data_dir / "faq" / "covid_faq.csv"


def write_corpus(folder: Path, copies: int) -> Path:
    with COVID_FAQ.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    folder.mkdir(parents=True)
    for region in range(copies):
        with (folder / f"region-{region:03d}.csv").open(
            "w", newline="", encoding="utf-8"
        ) as handle:
            writer = csv.DictWriter(handle, fieldnames=["question", "answer", "link"])
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        "question": f"{row['question']} (region {region})",
                        "answer": row["answer"],
                        "link": row["link"],
                    }
                )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--copies",
        type=int,
        default=40,
        help="regional copies of the COVID FAQ (40 -> ~10k chunks)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_corpus(Path(tmp) / "corpus", args.copies)
        chunker = Chunker(embedder.count_tokens, embedder.max_tokens)
        texts = [
            c.embedding_text for f in discover([corpus]) for d in load(f) for c in chunker.chunk(d)
        ]
        embedder.embed_documents(texts[:64])  # warm-up, so neither side pays for first-call setup

        started = time.perf_counter()
        for start in range(0, len(texts), 256):
            embedder.embed_documents(texts[start : start + 256])
        floor_s = time.perf_counter() - started

        store = Store.open(KnowledgeSettings(qdrant_path=Path(tmp) / "qdrant"))
        try:
            pipeline = Pipeline(store, embedder, SparseEncoder())
            first = pipeline.run([corpus])
            second = pipeline.run([corpus])
        finally:
            store.close()
    figures = {
        "chunks": len(texts),
        "documents": first.added,
        "embed_only_chunks_per_s": round(len(texts) / floor_s, 1),
        "ingest_chunks_per_s": round(first.chunks_written / first.seconds, 1),
        "ratio_to_floor": round(floor_s / first.seconds, 3),
        "first_run_s": round(first.seconds, 1),
        "unchanged_rerun_s": round(second.seconds, 2),
        "rerun_speedup": round(first.seconds / second.seconds, 1),
    }
    assert second.unchanged == first.added and second.chunks_written == 0
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
