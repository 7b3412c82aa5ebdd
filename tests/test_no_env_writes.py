"""Our modules read the environment in settings modules only, and never write it: counting a
prompt's tokens leaves the process environment as it found it."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, os
before = dict(os.environ)
from bot.chain.prompt import count_tokens
assert count_tokens("How many vacation days do I get?") > 0
print(json.dumps(sorted(set(os.environ) - set(before))))
"""


def test_counting_tokens_sets_no_environment_variable():
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"} | {
        "PYTHONPATH": str(ROOT)
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []
