"""The knowledge layer's settings (store, embedding, retrieval), and the base every package's
settings share.

Each package owns its settings: `knowledge.settings.KnowledgeSettings`,
`guards.settings.GuardSettings`, `ingest.settings.IngestSettings` and `bot.settings.Settings`,
which holds the others. pydantic-settings reads them from the process environment, then from a
`.env` file in the working directory (the environment wins); `bot.settings.load_settings` is
the one loader that does so. Code below the edges never reads `os.environ`; it is handed its
package's settings object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pydantic_settings
from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from knowledge.errors import SettingsError


class EnvSettings(BaseSettings):
    """Fields are named by their environment variable (`validation_alias`, matched exactly, as
    before: `llm_tiers` is not LLM_TIERS); code may also pass them by field name. An empty
    variable counts as unset."""

    model_config = SettingsConfigDict(
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
        case_sensitive=True,
        str_strip_whitespace=True,
        frozen=True,
    )

    @classmethod
    def from_environment(cls, env_file: str | None = ".env", **values):
        """Read from the environment and `env_file`; a bad value is a `SettingsError` naming it."""
        try:
            return cls(
                _env_file=env_file if env_file and Path(env_file).is_file() else None, **values
            )
        except ValidationError as error:
            raise settings_error(error) from None
        except pydantic_settings.SettingsError as error:  # a variable that could not even be parsed
            raise SettingsError(f"{error}; fix it in the environment or .env") from None


def settings_error(error: ValidationError) -> SettingsError:
    """pydantic's complaint, said as which variable, what is wrong with it, and where to fix it."""
    problems = []
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "a setting"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(
            f"{name}={item['input']!r}: {message}"
            if isinstance(item["input"], str)
            else f"{name}: {message}"
        )
    return SettingsError(f"{'; '.join(problems)}; fix it in the environment or .env")


def env(name: str, default=None, **kwargs):
    """A field read from the environment variable `name`."""
    return Field(default, validation_alias=name, **kwargs)


def comma_list(raw):
    """`a, b,` -> ("a", "b"): how lists are written in the environment."""
    if isinstance(raw, str):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(comma_list)]


class KnowledgeSettings(EnvSettings):
    data_dir: Path = env("DATA_DIR", Path(".data"))
    """Where embedded state lives (the Qdrant store, the tables)."""
    qdrant_path: Path | None = env("QDRANT_PATH", None)
    """Embedded Qdrant store directory (default $DATA_DIR/qdrant); used when `qdrant_url` is empty."""
    embedding_threads: int | None = env("EMBEDDING_THREADS", None, ge=1)
    """Threads the embedding engine computes on (default 1: see knowledge/embeddings.py)."""
    ingest_embedding_threads: int | None = env("INGEST_EMBEDDING_THREADS", None, ge=1)
    """Cores the `ingest` commands embed passages on, one batch a core (default: every core this
    process may use). `bot serve` (its syncs, `/kb reindex`) keeps EMBEDDING_THREADS."""
    qdrant_url: str = env("QDRANT_URL", "")
    """A Qdrant server (or cluster) to use instead of the embedded store."""
    qdrant_api_key: str = env("QDRANT_API_KEY", "")
    qdrant_collection: str = env("QDRANT_COLLECTION", "kb")
    """The alias the bot reads; each (re)build is a collection behind it."""
    top_k: int = env("RETRIEVAL_TOP_K", 5)
    """How many passages the answer is built from."""
    min_relevance: float = env("MIN_RELEVANCE", 0.85)
    """Cosine similarity below which the best passage is judged not to answer the question.
    Calibrated with `bot eval calibrate` on half of the COVID FAQ (see the README); e5's scores
    sit in a narrow band (~0.75-0.95), so a few hundredths matter."""
    min_relevance_ko: float = env("MIN_RELEVANCE_KO", 0.86)
    """The same for a Korean question (its passages' cosine similarity too, since e5 reads
    Korean). Calibrated on the calibration half of knowledge/eval (see the README)."""
    min_relevance_tables: float = env("MIN_RELEVANCE_TABLES", 0.805)
    """The same for a table's passages (its card and rows): "key: value" rows sit further from a
    question in e5's space than prose does. The 44 questions of `bot eval tables` score
    0.808-0.905 against their table; 0.805 admits them all (a question about something else
    scored up to 0.82 against the tables in a small try, so the margin to the best passage
    still decides between a document and a table)."""
    faq_match: float = env("FAQ_MATCH", 0.93)
    """Question-to-FAQ-question similarity above which the FAQ row's answer is given as is.
    Calibrated like MIN_RELEVANCE."""
    passage_margin: float = env("PASSAGE_MARGIN", 0.03)
    """A model is shown only the passages within this much cosine similarity of the best one:
    the fewest that carry the answer. Calibrated like MIN_RELEVANCE: the smallest margin that
    kept every answering passage of the calibration half."""

    def model_post_init(self, context) -> None:
        # The store defaults to a place under DATA_DIR, whatever DATA_DIR is.
        if self.qdrant_path is None:
            object.__setattr__(self, "qdrant_path", self.data_dir / "qdrant")

    def min_relevance_for(self, language: str) -> float:
        """The refusal threshold for a question in `language` ("en" or "ko"; knowledge/language.py)."""
        return self.min_relevance_ko if language == "ko" else self.min_relevance

    def relevant(self, passage, language: str) -> bool:
        """Whether `passage` may answer a question in `language`: tables have their own threshold."""
        threshold = self.min_relevance_for(language)
        if passage.chunk.metadata.get("table"):
            threshold = min(threshold, self.min_relevance_tables)
        return passage.score >= threshold

    @property
    def tables_path(self) -> Path:  # the tables ingest loaded (DuckDB)
        return self.data_dir / "tables.duckdb"
