"""Is one prompt variant's 👍 rate really different from another's, at the sample collected?

A 👍 rate is shown with its Wilson score interval (sound for small samples and rates near 0 or
1); two variants are compared with Fisher's exact test on their 👍/👎 counts (exact, so it
holds for the few dozen ratings an A/B test starts with). Both come from scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import binomtest, fisher_exact, norm

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Rates:
    variant: str
    up: int
    down: int

    @property
    def rated(self) -> int:
        return self.up + self.down

    @property
    def up_rate(self) -> float | None:
        return self.up / self.rated if self.rated else None

    def interval(self) -> tuple[float, float] | None:
        """The 95% Wilson score interval of the 👍 rate; None before any rating."""
        if not self.rated:
            return None
        ci = binomtest(self.up, self.rated).proportion_ci(
            confidence_level=1 - ALPHA, method="wilson"
        )
        return round(ci.low, 4), round(ci.high, 4)

    def describe(self) -> str:
        if not self.rated:
            return "no ratings"
        low, high = self.interval()
        return f"{self.up_rate:.0%} (95% CI {low:.0%}-{high:.0%}, {self.rated} rated)"


@dataclass(frozen=True)
class Verdict:
    baseline: str
    candidate: str
    p_value: float | None
    significant: bool
    needed_per_variant: int | None
    """Ratings each variant would need to show the observed difference (80% power), if any."""
    sentence: str

    def as_dict(self) -> dict:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "p_value": self.p_value,
            "significant": self.significant,
            "needed_per_variant": self.needed_per_variant,
            "sentence": self.sentence,
        }


def compare(baseline: Rates, candidate: Rates) -> Verdict:
    """A plain sentence on whether `candidate`'s 👍 rate differs from `baseline`'s."""
    head = f"{candidate.variant} vs {baseline.variant}: 👍 rate {candidate.describe()} vs {baseline.describe()}"
    if not baseline.rated or not candidate.rated:
        return Verdict(
            baseline.variant,
            candidate.variant,
            None,
            False,
            None,
            f"{head}; nothing can be said until both have ratings.",
        )
    p_value = float(fisher_exact([[candidate.up, candidate.down], [baseline.up, baseline.down]])[1])
    needed = sample_size(baseline.up_rate, candidate.up_rate)
    if p_value < ALPHA:
        direction = "higher" if candidate.up_rate > baseline.up_rate else "lower"
        tail = f"{candidate.variant}'s is significantly {direction} (Fisher's exact test p = {p_value:.3f})."
    elif needed is None:
        tail = f"no difference so far (p = {p_value:.2f})."
    else:
        tail = (
            f"the difference is not significant at this sample size (Fisher's exact test p = {p_value:.2f}); "
            f"showing a difference this large would take about {needed:,} rated answers per variant."
        )
    return Verdict(
        baseline.variant,
        candidate.variant,
        round(p_value, 4),
        p_value < ALPHA,
        needed,
        f"{head}; {tail}",
    )


def sample_size(p1: float, p2: float) -> int | None:
    """Ratings per group for a two-sided test of p1 vs p2 at ALPHA with POWER (normal
    approximation); None when the rates are equal."""
    if math.isclose(p1, p2):
        return None
    z_alpha, z_power = norm.ppf(1 - ALPHA / 2), norm.ppf(POWER)
    mean = (p1 + p2) / 2
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root**2 / (p1 - p2) ** 2)
