"""A channel's daily model budget (CHANNEL_DAILY_BUDGET_USD): once spent, no paid model call."""

from __future__ import annotations

from bot.chain.degrade import without_redis
from bot.deps import Deps


def budget_spent(deps: Deps, channel: str) -> bool:
    budget = deps.settings.channel_daily_budget_usd
    if budget <= 0:  # no budget: not even a read of today's spending
        return False
    return without_redis("usage", lambda: deps.usage.spent_today(channel), 0.0) >= budget
