"""Where a turn's time goes: a whole `bot ask --jsonl` turn without a model, stage by stage.

    python -m tests.benchmarks.turn [--questions 200] [--json]

The questions are the embedding benchmark's (COVID paraphrases from ../shared/eval, read in
place, one in ten an FAQ row's own question), answered over the COVID FAQ in Qdrant Edge in
extractive mode with the answer cache off, each in a new thread, as `bot ask --jsonl` does
(the answer and its JSON line). Each question is embedded afresh.

A turn is timed as its asker sees it: from the question to its JSON line, made in the reply
`bot ask --jsonl` and the Slack edge hand the agent (bot/chain/agent.py). The turn's write to Redis
(usage, its record, the thread's memory) comes after the reply; `turn_with_write` is the whole
call, write included, and `stage_remember` the write's own time.

The stages are the turn's own spans (bot/ops/telemetry.py), read from the same tracer provider
the bot traces to, by an in-memory exporter added to it: each stage's time is its spans' own
time, without their children's, so the stages add up to the turn. `turn` is what no child
span covers: building the answer, choosing the prompt variant, the trace's own bookkeeping.

The floor is one query embedding plus one dense Qdrant query (goals: turn p50 <= 1.5x the
floor's, p95 <= 2x). The ingest runs in a child process, so this one is a serving worker:
after the turns, its RSS (goal <= 350 MB after 200 answers, no local model),
its peak, and whether torch was imported. As a worker does at start (bot/deps.py `screen_ahead`),
it screens the index's passages for instructions before the first question; it waits for that
(`screened_ahead_s`) before it measures.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot.chain.agent import Agent
from bot.chain.answer_json import answer_json
from bot.deps import screen_ahead
from bot.ops.evals.data import percentiles
from bot.settings import Settings
from ingest.pipeline import Pipeline
from knowledge.access import ALL, Asker
from knowledge.embeddings import Embedder
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.benchmarks import print_figures
from tests.benchmarks.embedding import arguments, bench_deps, bench_settings, questions, timed_ms
from tests.benchmarks.retrieval import NO_TERMS

STAGES = (
    "preprocess",
    "guard.input",
    "embed",
    "access",
    "cache",
    "retrieve",
    "sparse",
    "relevance",
    "search",
    "screen",
    "usage",
    "remember",
    "turn",
    "json",
)
"""In the order a turn runs them; `retrieve` is what its embed, sparse and search leave."""


def own_times(spans) -> dict[str, float]:
    """Span name -> milliseconds spent in spans of that name, their children's time taken out
    (as far as it fell inside the parent's: `remember` runs after the turn's span has ended)."""
    by_id = {span.context.span_id: span for span in spans}
    children: dict[int, int] = defaultdict(int)
    for span in spans:
        parent = by_id.get(span.parent.span_id) if span.parent is not None else None
        if parent is not None:
            inside = min(span.end_time, parent.end_time) - max(span.start_time, parent.start_time)
            children[parent.context.span_id] += max(0, inside)
    own: dict[str, float] = defaultdict(float)
    for span in spans:
        own[span.name] += (span.end_time - span.start_time - children[span.context.span_id]) / 1e6
    return own


def memory_mb() -> dict[str, float]:
    """This process's resident set now and at its peak (Linux /proc)."""
    fields = dict(
        line.split(":", 1)
        for line in Path("/proc/self/status").read_text().splitlines()
        if ":" in line
    )
    return {
        name: round(int(fields[key].split()[0]) / 1024)
        for name, key in (("rss_mb", "VmRSS"), ("peak_mb", "VmHWM"))
    }


def prepare(settings: Settings, faq: Path) -> None:
    """The COVID FAQ's ingest, done before serving (as `ingest` does, in its own process)."""
    embedder = Embedder(settings.knowledge.embedding_threads)
    store = Store.open(settings.knowledge)
    try:
        Pipeline(store, embedder, SparseEncoder()).run([faq])
    finally:
        store.close()


def main() -> None:
    args = arguments(__doc__)
    asked = questions(args.data, args.questions)

    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(tmp, "turn")
        child = multiprocessing.get_context("spawn").Process(
            target=prepare, args=(settings, args.data / "faq" / "covid_faq.csv")
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("the ingest failed; see the log above")
        embedder = Embedder(settings.knowledge.embedding_threads)
        with bench_deps(settings, embedder) as deps:
            started = time.perf_counter()
            screen_ahead(
                deps
            ).join()  # as a worker starts: its passages screened before it is measured
            screened_s = time.perf_counter() - started
            if deps.telemetry.provider is None:
                raise SystemExit(
                    "traces are off (TRACE_KEEP=0 and no OTLP endpoint): the stages are read from them"
                )
            spans = InMemorySpanExporter()
            deps.telemetry.provider.add_span_processor(SimpleSpanProcessor(spans))
            agent = Agent(deps)
            agent.answer("warm-up question", "bench:warm-up")
            spans.clear()
            floor, turn, whole, stages = [], [], [], defaultdict(list)
            replied: list[float] = []

            def reply(answer, number: int) -> None:
                answered = time.perf_counter()
                json.dumps(answer_json(answer, number), ensure_ascii=False)
                replied[:] = [answered, time.perf_counter()]

            for number, question in enumerate(asked):
                embedder.clear_cache()
                floor.append(
                    timed_ms(
                        lambda question=question: deps.store.search(
                            embedder.embed_query(question), NO_TERMS, 5, access=ALL, mode="dense"
                        )
                    )
                )
                embedder.clear_cache()
                started = time.perf_counter()
                agent.answer(
                    question,
                    f"bench:{number}",
                    asker=Asker(channel="bench"),
                    reply=lambda answer, number=number: reply(answer, number),
                )
                ended = time.perf_counter()
                (answered, sent) = replied
                turn.append((sent - started) * 1000)
                whole.append((ended - started) * 1000)
                own = own_times(spans.get_finished_spans())
                spans.clear()
                for stage in STAGES:
                    stages[stage].append(own.get(stage, 0.0))
                stages["json"][-1] = (sent - answered) * 1000
            memory = memory_mb()
            torch_imported = "torch" in sys.modules

    figures = {
        "questions": len(asked),
        "floor": percentiles(floor),
        "turn_total": percentiles(turn),
        "turn_with_write": percentiles(whole),
        **{f"stage_{name}": percentiles(stages[name]) for name in STAGES if any(stages[name])},
    }
    figures["turn_p50_to_floor"] = round(
        figures["turn_total"]["p50_ms"] / figures["floor"]["p50_ms"], 2
    )
    figures["turn_p95_to_floor"] = round(
        figures["turn_total"]["p95_ms"] / figures["floor"]["p95_ms"], 2
    )
    figures["with_write_p50_to_floor"] = round(
        figures["turn_with_write"]["p50_ms"] / figures["floor"]["p50_ms"], 2
    )
    figures.update(memory, torch_imported=torch_imported, screened_ahead_s=round(screened_s, 2))
    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
