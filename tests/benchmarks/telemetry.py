"""What telemetry adds to a turn: traces (kept in Redis, optionally sent to a collector) and
Prometheus metrics, measured on the real chain.

Two agents share one set of clients and differ only in telemetry; they answer the same
questions alternately, so each pair of turns meets the same machine load, and the figure is
the median of the paired differences. The chain runs in full: the sample knowledge base,
the input guard, retrieval, a model tier (a stand-in on localhost that quotes passage [1], as
in the cascade benchmark), the output guard, memory. Three set-ups:

- off: no exporter, no metrics (a no-op tracer; what the chain costs without telemetry)
- on: spans kept in Redis by the background exporter, and metrics (what `bot serve` runs)
- on + slow collector: the same, plus OTLP export to a collector that takes SLOW_S to
  answer each request: the turn must not wait for it.

    python -m tests.benchmarks.telemetry [--turns 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.chain.agent import Agent
from bot.chain.answer import Answer
from bot.chain.cascade import Cascade
from bot.chain.llm import Completion
from bot.chain.tiers import Tier
from bot.deps import build_deps
from bot.ops.telemetry import Telemetry
from bot.ops.tracing import build_tracer_provider, turn_id_of
from bot.settings import Settings
from ingest.pipeline import Pipeline
from knowledge.access import Asker
from knowledge.embeddings import Embedder
from knowledge.sparse import SparseEncoder
from knowledge.store import Store
from tests.conftest import SAMPLE_KB
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.otlp import FakeCollector

SLOW_S = 2.0
QUESTIONS = [
    "How many vacation days do full-time employees get?",
    "How do I book a business trip?",
    "Which class can I fly in?",
    "How much can I spend on a hotel?",
    "How do I report a phishing e-mail?",
    "Which password manager should I use?",
    "How much is the home-office budget?",
    "Who should I tell when my laptop is stolen?",
    "How do I submit an expense report?",
    "Who won the football world cup in 1954?",
]


def paired(agents: tuple[Agent, Agent], turns: int) -> tuple[list[float], list[float]]:
    """Latency (ms) of each agent on the same questions, alternating which goes first."""
    first, second = [], []
    for number in range(turns):
        question = QUESTIONS[number % len(QUESTIONS)]
        order = agents if number % 2 == 0 else agents[::-1]
        timings = {}
        for agent in order:
            started = time.perf_counter()
            agent.answer(question, f"bench:{id(agent)}:{number}", asker=Asker(channel="bench"))
            timings[id(agent)] = (time.perf_counter() - started) * 1000
        first.append(timings[id(agents[0])])
        second.append(timings[id(agents[1])])
    return first, second


def latency(name: str, turns: list[float]) -> str:
    return f"{name:<24} turn p50 {statistics.median(turns):6.1f} ms  p95 {statistics.quantiles(turns, n=20)[-1]:6.1f} ms"


def added(base: list[float], measured: list[float]) -> str:
    differences = [m - b for b, m in zip(base, measured, strict=True)]
    return f"  added p50 {statistics.median(differences):+.2f} ms (mean {statistics.fmean(differences):+.2f})"


def instrumentation_only(telemetry: Telemetry, turns: int) -> float:
    """p50 µs of the telemetry calls a model turn makes, with nothing else running."""
    tier = Tier("strong", "big-model", "http://127.0.0.1:1/v1")
    samples = []
    for _ in range(turns):
        started = time.perf_counter()
        with telemetry.turn(**{"kb.thread": "C1:1.1", "kb.channel": "C1"}) as span:
            for name in ("preprocess", "guard.input", "cache", "retrieve"):
                with telemetry.stage(
                    name, latency="retrieve" if name == "retrieve" else ""
                ) as step:
                    step.set_attributes(
                        {"kb.passages.ids": ["a" * 36] * 5, "kb.passages.scores": [0.5] * 5}
                    )
            with telemetry.stage("tier strong"):
                with telemetry.model_call(tier, "answer") as call:
                    telemetry.completed(call, tier, Completion("{}", 400, 40, "big-model"), 0.001)
                with telemetry.stage("validate", latency="validate") as check:
                    check.set_attributes({"kb.guard.passed": True})
            telemetry.answered(
                span, Answer("ok", "llm", turn_id=turn_id_of(span), variant="answer-v1")
            )
            with telemetry.stage("remember"):
                pass
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def with_telemetry(deps, telemetry: Telemetry):
    """The same clients, reporting to `telemetry` (the cascade reports through it too)."""
    cascade = deps.cascade and Cascade(deps.cascade.chats, deps.cascade.guard, telemetry)
    return replace(deps, telemetry=telemetry, cascade=cascade)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="turns per set-up (default 200)")
    args = parser.parse_args()
    embedder = Embedder()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeOpenAI() as model,
        FakeCollector(delay_s=SLOW_S) as collector,
    ):
        settings = Settings().replace(
            qdrant_path=Path(tmp) / "qdrant",
            redis_prefix=f"bench:telemetry:{time.time_ns()}:",
            llm_tiers=(Tier("strong", "gpt-4o", model.base_url),),
            faq_match=2.0,
            answer_cache=False,
        )
        store = Store.open(settings.knowledge)
        Pipeline(store, embedder, SparseEncoder()).run([SAMPLE_KB])
        store.close()
        deps = build_deps(settings, embedder=embedder, metrics=True)
        slow_provider = build_tracer_provider(
            settings.replace(otel_exporter_otlp_endpoint=collector.endpoint), deps.redis
        )
        off = Agent(with_telemetry(deps, Telemetry()))
        on = Agent(deps)
        slow = Agent(with_telemetry(deps, Telemetry(slow_provider, deps.telemetry.metrics)))
        paired((off, on), 10)  # warm-up: models loaded, caches of the embedding model filled
        print(
            f"{args.turns} turns per set-up, each a full model turn (extractive FAQ path and cache off)"
        )
        base, measured = paired((off, on), args.turns)
        print(latency("off", base))
        print(latency("on (Redis, metrics)", measured) + added(base, measured))
        base, measured = paired((on, slow), args.turns)
        print(
            latency(f"on + {SLOW_S:.0f} s collector", measured)
            + added(base, measured)
            + " (against on)"
        )
        print(
            f"spans the slow collector got meanwhile: {len(collector.spans)}; exports waiting: {collector.waiting}"
        )
        print(
            "instrumentation alone, p50 per turn: "
            f"off {instrumentation_only(Telemetry(), 2000):.0f} us, "
            f"on {instrumentation_only(deps.telemetry, 2000):.0f} us"
        )
        collector.release()
        slow_provider.shutdown()
        keys = list(deps.redis.scan_iter(f"{settings.redis_prefix}*"))
        if keys:
            deps.redis.delete(*keys)
        deps.close()


if __name__ == "__main__":
    main()
