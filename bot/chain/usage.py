"""What answers cost: tokens and dollars per answer, totals per day and channel in Redis,
and the per-channel daily budget that keeps a busy channel from running up the bill."""

from __future__ import annotations

import time

import redis

from bot.chain.answer import Usage
from bot.chain.tiers import Tier

TOTALS_TTL_S = 90 * 24 * 3600


def cost_usd(tier: Tier, prompt_tokens: int, completion_tokens: int) -> float:
    return round(
        prompt_tokens / 1000 * tier.price_input_per_1k
        + completion_tokens / 1000 * tier.price_output_per_1k,
        6,
    )


class UsageLedger:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, channel: str = "") -> str:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        return f"{self._prefix}usage:{day}" + (f":{channel}" if channel else "")

    def record(
        self,
        channel: str,
        usage: Usage,
        variant: str = "",
        pipe: redis.client.Pipeline | None = None,
    ) -> None:
        """Add one answer to today's totals, overall and for its channel; `variant` is the
        answer prompt its thread was given (answers and cost per variant, for the A/B comparison).
        `pipe`: queue the commands on the caller's pipeline, which sends them, instead of now."""
        own, pipe = pipe is None, pipe if pipe is not None else self._redis.pipeline()
        for key in (self._key(), self._key(channel or "-")):
            pipe.hincrby(key, "answers", 1)
            pipe.hincrby(key, f"tier:{usage.tier}", 1)
            for rejection in usage.rejected:
                pipe.hincrby(key, f"rejected:{rejection.tier}", 1)
            pipe.hincrby(key, "prompt_tokens", usage.prompt_tokens)
            pipe.hincrby(key, "completion_tokens", usage.completion_tokens)
            pipe.hincrbyfloat(key, "cost_usd", usage.cost_usd)
            if variant:
                pipe.hincrby(key, f"variant:{variant}", 1)
                pipe.hincrbyfloat(key, f"variant_cost_usd:{variant}", usage.cost_usd)
            pipe.expire(key, TOTALS_TTL_S)
        if own:
            pipe.execute()

    def today(self, channel: str = "") -> dict[str, float]:
        return {k: float(v) for k, v in self._redis.hgetall(self._key(channel)).items()}

    def spent_today(self, channel: str) -> float:
        return float(self._redis.hget(self._key(channel or "-"), "cost_usd") or 0.0)


def describe(totals: dict[str, float]) -> str:
    """A day's totals in a line: answers, what they cost, and who answered them (the cache,
    the FAQ path, a tier)."""
    answers = int(totals.get("answers", 0))
    if not answers:
        return "no answers yet"
    shares = sorted(
        (
            (value, key.removeprefix("tier:"))
            for key, value in totals.items()
            if key.startswith("tier:")
        ),
        reverse=True,
    )
    by_tier = ", ".join(f"{name} {value / answers:.0%}" for value, name in shares)
    return (
        f"{answers} answer{'s' * (answers != 1)} · ${totals.get('cost_usd', 0.0):.2f} · {by_tier}"
    )
