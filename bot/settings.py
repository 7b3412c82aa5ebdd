"""The bot's settings (Slack, the model cascade, budgets, cache, memory, telemetry), the other
packages' settings it holds, and `load_settings`: the one place the environment is read.

Values come from the process environment, then from a `.env` file in the working directory
(the environment wins); pydantic-settings reads and validates them. The edges (the CLIs, the
Slack and HTTP apps) call `load_settings` once and pass the `Settings` down; `knowledge`,
`guards` and `ingest` code is handed only its own part (`settings.knowledge`, ...).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from dotenv import dotenv_values
from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import NoDecode

from bot.chain.tiers import Tier, load_tiers
from guards.settings import GuardSettings
from ingest.settings import IngestSettings
from knowledge.settings import EnvSettings, KnowledgeSettings, comma_list, env

DEFAULT_EVAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "eval"
"""../shared/eval beside the checkout."""
EVAL_DATA_HELP = (
    "put the public evaluation data (faq/, guards/) there, or point EVAL_DATA_DIR (or --data) "
    "at where it is"
)


def _shares(raw):
    """`answer-v1:90,answer-v2:10` -> ((answer-v1, 90), (answer-v2, 10)); a name alone has share 1."""
    if not isinstance(raw, str):
        return raw
    shares = []
    for item in comma_list(raw):
        name, _, weight = item.partition(":")
        if not name.strip() or not (weight.strip() or "1").isdigit():
            raise ValueError(
                f"{item!r} is not NAME:SHARE with a whole number; "
                "e.g. PROMPT_VARIANTS=answer-v1:90,answer-v2:10"
            )
        shares.append((name.strip(), int(weight.strip() or "1")))
    return tuple(shares)


def _questions(raw):
    """`How do I ...?|What is ...?` -> the questions (they may hold commas, so `|` separates them)."""
    return (
        tuple(item.strip() for item in raw.split("|") if item.strip())
        if isinstance(raw, str)
        else raw
    )


class Settings(EnvSettings):
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    guards: GuardSettings = Field(default_factory=GuardSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)

    redis_url: str = env("REDIS_URL", "redis://127.0.0.1:6379/0")
    eval_data_dir: Path = env("EVAL_DATA_DIR", DEFAULT_EVAL_DATA)
    """The public evaluation data (`bot eval`, the tests that need it); never copied into the repository."""
    redis_prefix: str = env("REDIS_PREFIX", "kb:")
    """Prefix of every Redis key, so several deployments (or test runs) share one Redis."""
    openai_api_key: SecretStr = env("OPENAI_API_KEY", "")
    openai_base_url: str = env("OPENAI_BASE_URL", "")
    llm_model: str = env("LLM_MODEL", "gpt-4o-mini")
    llm_timeout_s: float = env("LLM_TIMEOUT_S", 60.0)
    llm_price_input_per_1k: float = env("LLM_PRICE_INPUT_PER_1K", 0.00015)
    llm_price_output_per_1k: float = env("LLM_PRICE_OUTPUT_PER_1K", 0.0006)
    """USD per 1,000 tokens, for cost per answer (defaults: gpt-4o-mini's list prices)."""
    llm_tiers_file: Path | None = env("LLM_TIERS", None)
    llm_tiers: tuple[Tier, ...] = ()
    """The model cascade, cheapest first, from the LLM_TIERS file (`load_settings` reads it);
    empty means one tier made of OPENAI_BASE_URL, LLM_MODEL and the LLM_PRICE_* settings."""
    channel_daily_budget_usd: float = env("CHANNEL_DAILY_BUDGET_USD", 0.0)
    """LLM spend per Slack channel per day; once spent, only free tiers (a local model) or
    extractive answers. 0: no limit."""
    # Secrets: never in a repr, a log line or an error (`.get_secret_value()` where one is used).
    slack_bot_token: SecretStr = env("SLACK_BOT_TOKEN", "")
    slack_signing_secret: SecretStr = env("SLACK_SIGNING_SECRET", "")
    slack_app_token: SecretStr = env("SLACK_APP_TOKEN", "")
    slack_api_url: str = env("SLACK_API_URL", "")
    slack_admin_users: Annotated[frozenset[str], NoDecode, BeforeValidator(comma_list)] = env(
        "SLACK_ADMIN_USERS", frozenset()
    )
    slack_suggested_prompts: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_questions)] = (
        env("SLACK_SUGGESTED_PROMPTS", ())
    )
    """Questions the Slack assistant view suggests, separated by `|`; empty: FAQ questions from the index."""
    slack_command: str = env("SLACK_COMMAND", "/kb")
    experts: str = env("EXPERTS", "")
    """Whom "Ask an expert" mentions in a channel that named none (`/kb experts`): Slack mentions,
    e.g. `<!subteam^S0123ABC>` or `<@U0123ABC> <@U0456DEF>`."""
    digest_channel: str = env("DIGEST_CHANNEL", "")
    """Where the weekly digest is posted (a channel id); empty: no digest."""
    digest_cron: str = env("DIGEST_CRON", "0 9 * * 1")
    """When: minute hour day-of-month month day-of-week (default Mondays 09:00, server time)."""
    """The admin slash command, as declared in the Slack app manifest."""
    slack_process_before_response: bool = env("SLACK_PROCESS_BEFORE_RESPONSE", False)
    """Answer before the HTTP response (bolt's mode for hosts that freeze a process once it has
    responded, e.g. AWS Lambda): a reply that cannot be posted then fails the request, and
    Slack retries it. Off, events are acknowledged at once and answered after."""
    rate_limit_per_minute: int = env("RATE_LIMIT_PER_MINUTE", 10)
    """Questions one Slack user may ask per minute; 0 turns the limit off."""
    api_rate_limit_per_minute: int = env("API_RATE_LIMIT_PER_MINUTE", 60)
    """Requests per HTTP API key a minute, unless the key was made with its own; 0: none."""
    api_max_request_bytes: int = env("API_MAX_REQUEST_BYTES", 65_536)
    """The largest HTTP API request body taken (413 beyond)."""
    http_keepalive_s: float = env("HTTP_KEEPALIVE_S", 75.0)
    """How long `bot serve --http` keeps a connection open for its next request (bot/web/http_server.py);
    0: one request a connection. Longer than a load balancer's idle timeout (60 s on AWS), so the
    balancer, not the server, closes an idle connection and never sends on one being closed."""
    answer_workers: int = env("ANSWER_WORKERS", 4)
    """Questions one process answers at once (bot/web/admission.py)..."""
    answer_queue: int = env("ANSWER_QUEUE", 32)
    """...and how many more may wait; beyond that the asker is told the bot is busy."""
    channel_scopes: Path | None = env("CHANNEL_SCOPES", None)
    """A TOML file of channel scopes (`[channels.C0HR]` with tags and/or prefixes); `/kb scope` overrides it per channel."""
    usergroup_ttl_s: int = env("USERGROUP_TTL_S", 300)
    """How long a Slack user group's members are cached; a member who leaves loses access after at most this."""
    answer_cache: bool = env("ANSWER_CACHE", True)
    """Reuse answers to questions asked before (exact and semantic)."""
    semantic_cache_match: float = env("SEMANTIC_CACHE_MATCH", 0.95)
    """Question-to-question similarity above which a cached answer is reused; calibrated on
    the COVID paraphrase pairs (`bot eval cache`): on e5's vectors 0.95 is the lowest at which
    no pair asking something else was served (0.93: precision 0.993; 0.91: 0.98)."""
    semantic_cache_match_ko: float = env("SEMANTIC_CACHE_MATCH_KO", 0.96)
    """The same for Korean questions, calibrated on Korean pairs (`bot eval cache --dataset
    knowledge/eval/ko-pairs.jsonl`): Korean paraphrases sit higher on e5 than English ones, and
    "정규직은 연차가 1년에 며칠이에요?" / "계약직은 ..." score 0.950. Above 1: exact wording only."""
    verified_match: float = env("VERIFIED_MATCH", 0.97)
    """Question-to-question similarity above which a verified answer is served; `bot eval
    calibrate` suggests it from the calibration half of the COVID paraphrases (the lowest that
    serves <= 0.5% of other questions), `bot eval verified` reports how it holds on the other half.
    High, as a verified answer is served word for word. On e5's vectors MiniLM's 0.94 served 6.5%
    of other COVID questions a verified answer (0.97: none of the held-back half)."""
    verified_match_ko: float = env("VERIFIED_MATCH_KO", 0.97)
    """The same for Korean questions (Korean wordings only). On the Korean pairs of
    knowledge/eval/ko-pairs.jsonl no question asking something else scores above 0.953, so 0.97
    keeps the margin a word-for-word answer needs. Above 1: exact wording only."""
    memory_turns: int = env("MEMORY_TURNS", 10)
    memory_ttl_s: int = env("MEMORY_TTL_S", 7 * 24 * 3600)
    prompt_variants: Annotated[tuple[tuple[str, int], ...], NoDecode, BeforeValidator(_shares)] = (
        env("PROMPT_VARIANTS", (("answer-v1", 100),))
    )
    """Answer prompts (files in bot/chain/prompts/) and their shares of the threads: the A/B split."""
    metrics_port: int = env("METRICS_PORT", 9464)
    """Where `bot serve` in Socket Mode serves /metrics (HTTP mode serves it on its own port); 0: off."""
    prometheus_multiproc_dir: Path | None = env("PROMETHEUS_MULTIPROC_DIR", None)
    """prometheus-client's multiprocess mode: every worker process counts into this directory."""
    trace_keep: int = env("TRACE_KEEP", 10_000)
    """Turns whose traces Redis keeps for `bot trace` and `/kb why` (the newest); 0: none."""
    trace_retention_s: int = env("TRACE_RETENTION_S", 3 * 24 * 3600)
    otel_exporter_otlp_endpoint: str = env("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    """An OTLP/HTTP collector's base URL (the standard variable): traces go to {it}/v1/traces."""
    otel_exporter_otlp_traces_endpoint: str = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
    """The standard traces-only override: the full URL, used as is."""
    otel_service_name: str = env("OTEL_SERVICE_NAME", "kb-assistant")
    otel_export_content: bool = env("OTEL_EXPORT_CONTENT", False)
    """Send the collector the attributes that carry words (the question, a rewrite, the SQL, the
    guards' objections, notes) and errors' messages; off, it gets ids, scores and timings only."""

    def replace(self, **changes) -> Settings:
        """A copy with these fields changed, whichever part (this, `knowledge`, `guards`,
        `ingest`) each belongs to: `settings.replace(faq_match=2.0, answer_cache=False)`."""
        parts = {}
        for part in ("knowledge", "guards", "ingest"):
            owned = {
                name: changes.pop(name)
                for name in list(changes)
                if name in type(getattr(self, part)).model_fields
            }
            if owned:
                parts[part] = getattr(self, part).model_copy(update=owned)
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"no such settings: {sorted(unknown)}")
        # model_copy does not validate: a secret given as text is wrapped as reading it would.
        changes = {
            name: SecretStr(value) if isinstance(value, str) and name in SECRETS else value
            for name, value in changes.items()
        }
        return self.model_copy(update=changes | parts)

    @property
    def llm_enabled(self) -> bool:
        """An LLM is used when a tiers file, a key or a base URL is configured."""
        return bool(self.tiers)

    @property
    def otlp_traces_endpoint(self) -> str:
        """Where OTLP traces go, as the OpenTelemetry specification composes it; "" for nowhere."""
        base = self.otel_exporter_otlp_endpoint
        return self.otel_exporter_otlp_traces_endpoint or (
            f"{base.rstrip('/')}/v1/traces" if base else ""
        )

    @property
    def tiers(self) -> tuple[Tier, ...]:
        if self.llm_tiers:
            return self.llm_tiers
        if not (self.openai_api_key or self.openai_base_url):
            return ()
        return (
            Tier(
                self.llm_model,
                self.llm_model,
                self.openai_base_url,
                self.openai_api_key.get_secret_value(),
                price_input_per_1k=self.llm_price_input_per_1k,
                price_output_per_1k=self.llm_price_output_per_1k,
                timeout_s=self.llm_timeout_s,
            ),
        )


SECRETS = frozenset(
    name for name, field in Settings.model_fields.items() if field.annotation is SecretStr
)


def load_settings(env_file: str | None = ".env") -> Settings:
    """Every package's settings, read from the environment and `env_file`; a bad value is a
    `SettingsError` naming the variable and what is wrong with it."""
    settings = Settings.from_environment(
        env_file,
        knowledge=KnowledgeSettings.from_environment(env_file),
        guards=GuardSettings.from_environment(env_file),
        ingest=IngestSettings.from_environment(env_file),
    )
    if settings.llm_tiers_file:
        # A tier's key is read from the variable it names, from the same places as the rest.
        values = dotenv_values(env_file) if env_file and Path(env_file).is_file() else {}
        environ = {
            name: value for name, value in (values | dict(os.environ)).items() if value is not None
        }
        settings = settings.replace(llm_tiers=load_tiers(settings.llm_tiers_file, environ))
    return settings
