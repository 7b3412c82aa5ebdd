import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot.chain.answer_json import published_schema
from bot.cli import commands as cli
from ingest.cli import commands as ingest_commands
from tests.conftest import ROOT, SAMPLE_KB

BIN = Path(sys.executable).parent


@pytest.fixture
def kb_env(monkeypatch, kb_settings):
    monkeypatch.setenv("QDRANT_PATH", str(kb_settings.knowledge.qdrant_path))
    monkeypatch.setenv("REDIS_URL", kb_settings.redis_url)
    monkeypatch.setenv("REDIS_PREFIX", kb_settings.redis_prefix)
    return kb_settings


def test_end_to_end_ingest_then_ask_json_cites_the_faq_row(tmp_path, redis_url, redis_prefix):
    env = dict(
        os.environ,
        QDRANT_PATH=str(tmp_path / "qdrant"),
        DATA_DIR=str(tmp_path / "data"),  # what `bot ask` keeps there stays out of the checkout
        REDIS_URL=redis_url,
        REDIS_PREFIX=redis_prefix,
    )
    ingest = subprocess.run(
        [BIN / "ingest", SAMPLE_KB], env=env, capture_output=True, text=True, timeout=300
    )
    assert ingest.returncode == 0, ingest.stderr
    assert "failed 0" in ingest.stdout
    ask = subprocess.run(
        [BIN / "bot", "ask", "--json", "I've lost my laptop, what should I do?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    jsonschema.validate(answer, published_schema()["response"])
    assert (answer["mode"], answer["refused"], answer["reason"]) == ("faq", False, None)
    top = answer["sources"][0]
    assert top["title"] == "I lost my laptop. What should I do?"
    assert top["source"] == "https://intranet.fjordlight.example/it/security#lost-devices"
    assert "within one hour" in answer["answer"] and "within one hour" in top["text"]


def test_ask_prints_the_answer_and_numbered_sources(kb_env, capsys):
    assert cli.main(["ask", "Which password manager should I use?"]) == 0
    out = capsys.readouterr().out
    assert "1Password" in out and "Sources:\n  [1] Which password manager should I use?" in out


def test_jsonl_answers_every_line_and_reports_bad_ones(kb_env, monkeypatch, capsys):
    lines = "\n".join(
        [
            json.dumps({"id": "a", "question": "How much can I spend on a hotel?"}),
            "this is not json",
            json.dumps({"id": "c", "question": "How do I book a business trip?", "thread": "T7"}),
            json.dumps({"id": "d", "question": "and which class can I fly in?", "thread": "T7"}),
            json.dumps({"id": "e", "text": "no question field"}),
        ]
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert cli.main(["ask", "--jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ["a", None, "c", "d", "e"]
    assert "150 EUR" in records[0]["answer"] and records[0]["sources"]
    assert records[1]["reason"] == "error" and "line 2: not JSON" in records[1]["error"]
    assert "Economy" in records[3]["answer"]
    assert records[4]["reason"] == "error"
    for record in records:  # every line, answers and errors alike, is what /v1/schema publishes
        jsonschema.validate(record, published_schema()["response"])


def test_jsonl_a_request_that_fails_gets_an_error_line_and_later_lines_are_answered(
    kb_env, monkeypatch, capsys
):
    from knowledge.errors import StoreUnavailable
    from knowledge.store import Store

    search = Store.search
    calls = []

    def blip(self, *args, **kwargs):  # Qdrant does not answer the first search only
        calls.append(1)
        if len(calls) == 1:
            raise StoreUnavailable("Qdrant did not answer")
        return search(self, *args, **kwargs)

    monkeypatch.setattr(Store, "search", blip)
    lines = "\n".join(
        [
            json.dumps({"id": "a", "question": "How much can I spend on a hotel?"}),
            json.dumps({"id": "b", "question": "How do I book a business trip?"}),
        ]
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    assert cli.main(["ask", "--jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ["a", "b"]
    assert records[0]["reason"] == "error" and records[0]["error"] and not records[1]["refused"]
    for record in records:
        jsonschema.validate(record, published_schema()["response"])


def test_ask_before_ingest_says_the_kb_is_empty_and_how_to_fill_it(monkeypatch, settings, capsys):
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    assert cli.main(["ask", "How many vacation days do I get?"]) == 2
    err = capsys.readouterr().err
    assert "knowledge base is empty" in err and "ingest" in err and "Traceback" not in err
    monkeypatch.setattr(
        "sys.stdin", io.StringIO('{"id": 1, "question": "How many vacation days?"}\n')
    )
    assert (
        cli.main(["ask", "--jsonl"]) == 2
    )  # a batch is told once, not with an error line per request
    out, err = capsys.readouterr()
    assert out == "" and "knowledge base is empty" in err and "ingest" in err


def test_unreachable_redis_names_redis_url_and_how_to_start_one(monkeypatch, settings, capsys):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("QDRANT_PATH", str(settings.knowledge.qdrant_path))
    assert cli.main(["ask", "anything"]) == 2
    err = capsys.readouterr().err
    assert "REDIS_URL=redis://127.0.0.1:1/0" in err and "redis-server" in err


def test_ask_needs_a_question_or_jsonl(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ask"])
    assert exit_info.value.code == 2


def test_chat_keeps_the_thread_so_follow_ups_need_no_context(kb_env, monkeypatch, capsys):
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("How much is the home-office budget?\nand for contractors?\n")
    )
    assert cli.main(["chat"]) == 0
    out = capsys.readouterr().out
    first, second = out.split("> ")[1:3]
    assert "500 EUR" in first
    assert "Contractors do not receive the home-office budget" in second


def test_tiers_shows_the_cascade_and_a_bad_tiers_file_is_a_clear_error(
    monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("LLM_TIERS", str(ROOT / "bot" / "chain" / "tiers.toml"))
    assert cli.main(["tiers"]) == 0
    out = capsys.readouterr().out
    assert "FAQ fast path and the answer cache" in out
    assert "1. local: Qwen2.5-Coder-0.5B-Instruct" in out and "3. strong: gpt-4o at OpenAI" in out
    assert "cl100k_base approximates o200k_base" in out
    broken = tmp_path / "tiers.toml"
    broken.write_text("[[tier]]\nname = 'cheap'\n")
    monkeypatch.setenv("LLM_TIERS", str(broken))
    assert cli.main(["tiers"]) == 2
    assert "tier 1 needs a name and a model" in capsys.readouterr().err


def test_bot_trace_explains_an_answer_given_by_bot_ask(kb_env, capsys):
    assert cli.main(["ask", "--json", "How much can I spend on a hotel?"]) == 0
    turn_id = json.loads(capsys.readouterr().out)[
        "turn_id"
    ]  # `ask` exported its spans as it closed
    assert cli.main(["trace", turn_id[:8]]) == 0
    drawn = capsys.readouterr().out
    assert (
        drawn.startswith("turn ") and "├─ retrieve" in drawn and f"kb.turn.id = {turn_id}" in drawn
    )
    assert cli.main(["trace", turn_id, "--json"]) == 0
    traced = json.loads(capsys.readouterr().out)
    [root] = traced["spans"]
    assert traced["turn_id"] == turn_id and root["attributes"]["kb.mode"] == "faq"
    assert [child["name"] for child in root["children"]] == [
        "preprocess",
        "guard.input",
        "access",
        "verified",
        "cache",
        "retrieve",
        "screen",
        "remember",
    ]
    assert [child["name"] for child in root["children"][5]["children"]] == [
        "embed",
        "sparse",
        "search",
    ]
    assert cli.main(["trace", "0123456789"]) == 2
    assert "No trace of turn 0123456789" in capsys.readouterr().err


def test_a_damaged_index_says_what_to_do_and_rollback_serves_the_previous_build(kb_env, capsys):
    from ingest import cli as ingest_cli

    assert (
        ingest_cli.main(["--rebuild", str(SAMPLE_KB)]) == 0
    )  # a second build; the first is kept for rollback
    capsys.readouterr()
    serving = json.loads((kb_env.knowledge.qdrant_path / "aliases.json").read_text())["kb"]
    for segment_file in (kb_env.knowledge.qdrant_path / "collections" / serving / "segments").rglob(
        "*"
    ):
        if segment_file.is_file():
            segment_file.write_bytes(b"\xff" * 64)  # a disk that lost the segment's contents
    assert cli.main(["ask", "How much can I spend on a hotel?"]) == 2
    err = capsys.readouterr().err
    assert (
        f"The collection {serving}" in err
        and "cannot be read" in err
        and "`ingest rollback`" in err
    )
    assert ingest_cli.main(["rollback"]) == 0
    assert cli.main(["ask", "How much can I spend on a hotel?"]) == 0
    assert "150 EUR" in capsys.readouterr().out


def test_a_damaged_alias_file_is_a_clear_error_not_a_traceback(kb_env, capsys):
    (kb_env.knowledge.qdrant_path / "aliases.json").write_text('{"kb": ')
    assert cli.main(["ask", "How much can I spend on a hotel?"]) == 2
    err = capsys.readouterr().err
    assert "aliases.json cannot be read" in err and "ingest --rebuild" in err


@pytest.mark.parametrize("group", [cli.commands, ingest_commands], ids=["bot", "ingest"])
def test_every_command_and_option_says_what_it_does(group):
    from click.testing import CliRunner

    commands = list(group.commands.values())
    undocumented = [
        f"{command.name} {param.name}"
        for command in commands
        for param in command.params
        if param.param_type_name == "option" and not param.help
    ]
    assert commands and undocumented == [] and all(command.help for command in commands)
    result = CliRunner().invoke(group, [commands[0].name, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize("target", ["guards", "covid-dataset", "cache"])
def test_bot_eval_without_the_evaluation_data_says_where_to_put_it(
    tmp_path, monkeypatch, capsys, target
):
    monkeypatch.setenv("EVAL_DATA_DIR", str(tmp_path / "no-eval-data"))
    assert cli.main(["eval", target]) == 2
    error = capsys.readouterr().err
    assert (
        f"no evaluation data at {tmp_path / 'no-eval-data'}" in error and "EVAL_DATA_DIR" in error
    )
