"""The one seam the answer chain reports through: a span per step for the turn's trace, and
the Prometheus metrics that hang off the same moments.

The chain says what happens (`with telemetry.stage("retrieve", latency="retrieve")`,
`telemetry.answered(answer)`); this module decides where it goes. Traces may be off (no
exporter), metrics are off outside the serving edges (`bot ask` builds none): each call then
costs next to nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import trace

from bot.ops.tracing import turn_id_of

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from bot.chain.answer import Answer
    from bot.chain.llm import Completion
    from bot.chain.tiers import Tier
    from bot.ops.metrics import Metrics

Span = trace.Span
T = TypeVar("T")
R = TypeVar("R")


class Telemetry:
    def __init__(
        self, provider: TracerProvider | None = None, metrics: Metrics | None = None
    ) -> None:
        self.provider = provider
        self.metrics = metrics
        self._tracer = (
            provider.get_tracer("kb-assistant") if provider is not None else trace.NoOpTracer()
        )

    @contextmanager
    def turn(self, **attributes: Any) -> Iterator[Span]:
        """The root span of one turn; `turn_id_of(span)` is the turn's id."""
        with self.stage("turn", latency="total", **attributes) as span:
            yield span

    @contextmanager
    def stage(
        self, name: str, latency: str = "", parent: Span | None = None, **attributes: Any
    ) -> Iterator[Span]:
        """A span for one step; `latency` names its stage in kb_answer_latency_seconds, if any.
        `parent`: the span it belongs to, when that is not the current one (a step after the turn's
        reply, once the turn's span has ended)."""
        started = time.perf_counter()
        context = trace.set_span_in_context(parent) if parent is not None else None
        with self._tracer.start_as_current_span(
            name, context=context, attributes=clean(attributes)
        ) as span:
            try:
                yield span
            finally:
                if latency and self.metrics is not None:
                    self.metrics.latency.labels(latency).observe(time.perf_counter() - started)

    def timed(self, name: str, call: Callable[[T], R]) -> Callable[[T], R]:
        """`call`, each call of it a `name` span: for a step inside a package that knows nothing of traces."""

        def staged(argument: T) -> R:
            with self.stage(name):
                return call(argument)

        return staged

    @contextmanager
    def model_call(self, tier: Tier, purpose: str, **attributes: Any) -> Iterator[Span]:
        """One request to a model (`purpose`: answer or rewrite), named and described as the
        GenAI semantic conventions say."""
        with self.stage(
            f"chat {tier.model}",
            latency="generate",
            **attributes,
            **{
                "gen_ai.operation.name": "chat",
                "kb.purpose": purpose,
                "gen_ai.provider.name": "llama.cpp" if tier.local else "openai",
                "gen_ai.system": "llama.cpp" if tier.local else "openai",
                "gen_ai.request.model": tier.model,
                "gen_ai.request.max_tokens": tier.max_tokens,
                "gen_ai.request.temperature": 0.0,
                "server.address": tier.base_url or ("local" if tier.local else "api.openai.com"),
                "kb.tier": tier.name,
            },
        ) as span:
            yield span

    def completed(self, span: Span, tier: Tier, completion: Completion, cost_usd: float) -> None:
        """What a model call used and cost: on its span, and in the token and cost counters."""
        span.set_attributes(
            {
                "gen_ai.response.model": completion.model,
                "gen_ai.usage.input_tokens": completion.prompt_tokens,
                "gen_ai.usage.output_tokens": completion.completion_tokens,
                "kb.cost_usd": cost_usd,
            }
        )
        if self.metrics is not None:
            self.metrics.llm_tokens.labels(tier.name, "prompt").inc(completion.prompt_tokens)
            self.metrics.llm_tokens.labels(tier.name, "completion").inc(
                completion.completion_tokens
            )
            self.metrics.llm_cost.labels(tier.name).inc(cost_usd)

    def answered(self, span: Span, answer: Answer) -> None:
        """The turn's outcome, on its root span and in kb_answers_total."""
        usage = answer.usage
        span.set_attributes(
            clean(
                {
                    "kb.turn.id": answer.turn_id,
                    "kb.mode": answer.mode,
                    "kb.refused": answer.refused,
                    "kb.reason": answer.reason,
                    "kb.confidence": answer.confidence,
                    "kb.prompt.variant": answer.variant,
                    "kb.prompt.version": answer.prompt_version,
                    "kb.answered_by": usage.tier if usage else answer.mode,
                    "kb.cost_usd": usage.cost_usd if usage else 0.0,
                    "kb.sources": [p.id for p in answer.sources],
                    # Read back by bot/ops/traceview.py: a restricted turn's text-bearing attributes are withheld.
                    "kb.restricted": answer.restricted,
                    "kb.notes": answer.notes,
                }
            )
        )
        if self.metrics is not None:
            self.metrics.answers.labels(
                answer.mode, str(answer.refused).lower(), answer.reason or "", answer.variant
            ).inc()

    def failed(self, reason: str) -> None:
        """A turn that ended in an error reply (`error`, `empty_kb`): counted with the answers,
        so that kb_answers_total agrees with the replies sent."""
        if self.metrics is not None:
            self.metrics.answers.labels("none", "true", reason, "").inc()

    def http_request(self, route: str, status: str) -> None:
        """One request to the HTTP API, by route and status (401s, 429s and 413s included)."""
        if self.metrics is not None:
            self.metrics.http_requests.labels(route, status).inc()

    def cache_hit(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.cache_hits.labels(kind).inc()

    def verified_hit(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.verified_answers.labels(kind).inc()

    def escalated(self, waiting: int) -> None:
        """One more question sent to experts; `waiting`: the review queue's length now."""
        if self.metrics is not None:
            self.metrics.escalations.inc()
            self.metrics.review_queue.set(waiting)

    def review_queue(self, waiting: int) -> None:
        if self.metrics is not None:
            self.metrics.review_queue.set(waiting)

    def guard_block(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.guard_blocks.labels(reason).inc()

    def feedback(self, rating: str, variant: str) -> None:
        if self.metrics is not None:
            self.metrics.feedback.labels(rating, variant).inc()

    def ingested(self, chunks: int) -> None:
        if self.metrics is not None:
            self.metrics.ingest_chunks.inc(chunks)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Export every finished span now (tests, and before `bot trace` reads them back)."""
        return (
            self.provider.force_flush(int(timeout_s * 1000)) if self.provider is not None else True
        )

    def close(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def clean(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes worth keeping: OpenTelemetry takes no None, and an empty value says nothing."""
    return {
        key: value
        for key, value in attributes.items()
        if value is not None and value != "" and value != []
    }


__all__ = ["Span", "Telemetry", "clean", "turn_id_of"]
