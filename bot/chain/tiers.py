"""The model cascade's tiers: what each model is, where it runs, what it costs, and the
LLM_TIERS file (`[[tier]]` tables, cheapest first; bot/chain/tiers.toml is an example) they come from."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from knowledge.errors import SettingsError


@dataclass(frozen=True)
class Tier:
    """One model of the cascade: where it runs, what it costs, and when its answer is not enough."""

    name: str
    model: str
    base_url: str = ""
    """An OpenAI-compatible endpoint; empty is OpenAI's own."""
    api_key: str = ""
    gguf: str = ""
    """A local model file run in-process by llama-cpp-python instead of an endpoint;
    `qwen2.5-coder-0.5b` is Qwen2.5-Coder-0.5B-Instruct from PyPI (bot/chain/packaged_model.py)."""
    prompt: str = ""
    """The answer prompt for this tier (a file of bot/chain/prompts/, e.g. `answer-local-v1` for a
    small model); empty: the thread's prompt variant."""
    price_input_per_1k: float = 0.0
    price_output_per_1k: float = 0.0
    """USD per 1,000 tokens."""
    prompt_budget_tokens: int = 3000
    max_passages: int = 5
    min_confidence: float = 0.0
    """An answer the model itself rates below this goes to the next tier."""
    max_reasks: int = 1
    """Re-asks with the validators' feedback before the next tier is tried."""
    max_tokens: int = 512
    timeout_s: float = 60.0
    max_retries: int = 2
    """Retries of a failed call (connection error, 408, 429, 5xx), with exponential backoff that
    honours the server's Retry-After (the openai client's own), before the next tier is asked."""
    breaker_failures: int = 3
    """Failed calls in a row that open the tier's circuit (0: never): it is then skipped..."""
    breaker_cooldown_s: float = 30.0
    """...for this long, after which one call probes it again."""

    @property
    def local(self) -> bool:
        return bool(self.gguf)

    @property
    def free(self) -> bool:
        return self.price_input_per_1k == 0 and self.price_output_per_1k == 0


TIER_TYPES = {f.name: {"str": str, "int": int, "float": float}[f.type] for f in fields(Tier)} | {
    "api_key_env": str
}
TIER_KEYS = set(TIER_TYPES) - {"api_key"}


def load_tiers(path: Path, environ: Mapping[str, str]) -> tuple[Tier, ...]:
    """The `[[tier]]` tables of a TOML file, cheapest first. A tier's key is read from the
    variable its `api_key_env` names (default OPENAI_API_KEY), never from the file."""
    where = f"LLM_TIERS={path}"
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("tier", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(
            f"{where} cannot be read ({error}); point LLM_TIERS at a TOML file like bot/chain/tiers.toml"
        ) from None
    if not isinstance(tables, list) or not tables:
        raise SettingsError(
            f"{where} has no [[tier]] tables; see bot/chain/tiers.toml for the format"
        )
    tiers = []
    for number, table in enumerate(tables, start=1):
        unknown = set(table) - TIER_KEYS
        if unknown or not table.get("name") or not (table.get("model") or table.get("gguf")):
            problem = (
                f"unknown keys {sorted(unknown)}"
                if unknown
                else "needs a name and a model (or gguf)"
            )
            raise SettingsError(
                f"{where}: tier {number} {problem}; the keys are {sorted(TIER_KEYS)}"
            )
        wrong = [
            f"{name} must be {kind.__name__}"
            for name, kind in TIER_TYPES.items()
            if name in table
            and not isinstance(table[name], (int, float) if kind is float else kind)
        ]
        if wrong:
            raise SettingsError(f"{where}: tier {number} ({table['name']}): {'; '.join(wrong)}")
        values = dict(table)
        values["api_key"] = (environ.get(values.pop("api_key_env", "OPENAI_API_KEY")) or "").strip()
        values.setdefault("model", values.get("gguf", ""))
        tiers.append(Tier(**values))
    return tuple(tiers)
