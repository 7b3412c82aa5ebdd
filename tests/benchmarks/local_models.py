"""Local models side by side on the local tier's own prompts: time to the full answer, tokens/s
and what each answered, for the same three-passage prompts.

    .venv/bin/python -m tests.benchmarks.local_models [--gguf PATH ...] [--threads N] [--json]

The knowledge base is the sample one (knowledge/sample), ingested into a temporary store. The
questions are the first five answerable ones of tests/data/sample_answers.jsonl and the first
five of the Korean test half (knowledge/eval/ko.jsonl). Each gets the passages the chain would
show (relevant ones, at most three) in the prompt the local tier builds (answer-local-v1, its
token budget), and each model answers every prompt in turn, so a change of load hits all alike.
The models are called through the tier's own LocalChat (grammar-held JSON, its max_tokens), and
the reply is checked by the output guard. Without --gguf: the packaged Qwen2.5-Coder-0.5B.

Time is wall time and the process's CPU time: on a shared machine the CPU time says more, but
with two threads it also counts their spinning, so --threads 1 gives the steadiest figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import bot.chain.llm as llm
from bot.chain.llm import LocalChat
from bot.chain.packaged_model import QWEN_CODER_05B, model_file
from bot.chain.prompt import build_prompt
from bot.chain.prompt_variants import load_prompt
from bot.chain.routing import relevant_passages
from bot.chain.tiers import Tier
from bot.ops.evals.data import KOREAN_EVAL, PUBLIC_ACCESS
from guards.output import OutputGuard
from ingest.pipeline import Pipeline
from knowledge.embeddings import Embedder
from knowledge.retrieval import Retriever
from knowledge.settings import KnowledgeSettings
from knowledge.sparse import SparseEncoder
from knowledge.store import Store

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "answer-local-v1"
PASSAGES = 3
BUDGET = 1500
MAX_TOKENS = 120


def questions() -> list[str]:
    english = [json.loads(line) for line in (ROOT / "tests/data/sample_answers.jsonl").open()]
    korean = [json.loads(line) for line in (KOREAN_EVAL / "ko.jsonl").open()]
    return [c["question"] for c in english if c.get("expected_sources")][:5] + [
        c["question"] for c in korean if c.get("half") == "test"
    ][:5]


def chat_for(path: Path) -> LocalChat:
    tier = Tier(
        "local",
        path.name,
        gguf=str(path),
        prompt=PROMPT,
        prompt_budget_tokens=BUDGET,
        max_passages=PASSAGES,
        max_tokens=MAX_TOKENS,
    )
    return LocalChat(tier)


def run(paths: list[Path]) -> list[dict]:
    knowledge = KnowledgeSettings()
    instructions = load_prompt(PROMPT).text
    guard = OutputGuard()
    chats = [chat_for(path) for path in paths]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-local-") as folder:
        store = Store.open(KnowledgeSettings(qdrant_path=Path(folder) / "qdrant"))
        try:
            embedder = Embedder(knowledge.embedding_threads)
            summary = Pipeline(store, embedder, SparseEncoder()).run([ROOT / "knowledge/sample"])
            assert summary.ok, summary.failed
            retriever = Retriever(store, embedder, SparseEncoder())
            for chat in chats:  # loaded (and the system prompt evaluated) before any timing
                chat.complete([{"role": "system", "content": instructions}], guard.json_schema)
            for question in questions():
                retrieved = retriever.retrieve(question, knowledge.top_k, access=PUBLIC_ACCESS)
                passages = relevant_passages(knowledge, question, retrieved)[:PASSAGES]
                if not passages:  # the chain refuses before any model is asked
                    continue
                prompt = build_prompt(instructions, question, passages, [], BUDGET)
                shown = [p.chunk.text for p in prompt.passages]
                for chat in chats:
                    cpu, started = time.process_time(), time.perf_counter()
                    completion = chat.complete(list(prompt.messages), guard.json_schema)
                    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                    checked = guard.check(completion.text, shown)
                    rows.append(
                        {
                            "model": chat.tier.model,
                            "question": question,
                            "passages": [p.chunk.label for p in prompt.passages],
                            "wall_s": round(wall, 2),
                            "cpu_s": round(cpu, 2),
                            "prompt_tokens": completion.prompt_tokens,
                            "completion_tokens": completion.completion_tokens,
                            "reply": completion.text,
                            "guard_passed": checked.passed,
                            "problems": checked.problems,
                            "load1": os.getloadavg()[0],
                        }
                    )
        finally:
            store.close()
    return rows


def summary(rows: list[dict]) -> dict:
    by_model: dict[str, dict] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        walls = sorted(r["wall_s"] for r in mine)
        tokens = sum(r["completion_tokens"] for r in mine)
        by_model[model] = {
            "answers": len(mine),
            "wall_p50_s": statistics.median(walls),
            "wall_max_s": walls[-1],
            "cpu_p50_s": statistics.median(r["cpu_s"] for r in mine),
            "completion_tokens_mean": round(tokens / len(mine), 1),
            "tokens_per_s": round(tokens / sum(walls), 2),
            "guard_passed": sum(r["guard_passed"] for r in mine),
        }
    return by_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, action="append", help="a GGUF file (repeatable)")
    parser.add_argument("--threads", type=int, default=llm.LOCAL_THREADS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    llm.LOCAL_THREADS = args.threads  # read when a model is loaded
    paths = args.gguf or [model_file(QWEN_CODER_05B, KnowledgeSettings().data_dir / "models")]
    rows = run(paths)
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary(rows)}, ensure_ascii=False))
        return
    for row in rows:
        answer = row["reply"].replace("\n", " ")[:160]
        print(f"{row['model']}: {row['wall_s']:.1f} s, {row['completion_tokens']} tokens, ", end="")
        print(f"{'passed' if row['guard_passed'] else 'rejected'}: {row['question']} -> {answer}")
    for model, figures in summary(rows).items():
        print(model, json.dumps(figures))


if __name__ == "__main__":
    main()
