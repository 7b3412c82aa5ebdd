"""The one door to guardrails-ai: offline and with telemetry off before anything else runs.

guardrails sends usage traces to its vendor unless told not to (settings.rc.enable_metrics
defaults to True, and every `Guard.configure()` re-reads it from ~/.guardrailsrc), and its
import downloads NLTK's punkt tokenizer when missing. Import guardrails only through here.
"""

from __future__ import annotations

from pathlib import Path

import nltk

nltk.data.path.append(str(Path(__file__).parent / "nltk_data"))

from guardrails import Guard, OnFailAction  # noqa: E402
from guardrails.settings import settings as _settings  # noqa: E402
from guardrails.validators import FailResult, PassResult, Validator, register_validator  # noqa: E402
from pydantic import BaseModel  # noqa: E402


def disable_telemetry() -> None:
    # Validators read this flag when they are constructed; guards re-read the rc file
    # in configure(), which `new_guard` overrides explicitly.
    _settings.rc.enable_metrics = False


def new_guard(schema: type[BaseModel]) -> Guard:
    """A Guard for `schema` that never reports to the vendor."""
    disable_telemetry()
    guard = Guard.for_pydantic(schema)
    guard.configure(allow_metrics_collection=False)
    return guard


disable_telemetry()

__all__ = [
    "FailResult",
    "Guard",
    "OnFailAction",
    "PassResult",
    "Validator",
    "new_guard",
    "register_validator",
]
