"""`bot verified add|list|retire|approve|import` on real Redis, as an admin types them."""

import json

import pytest

from bot.cli import commands as cli


@pytest.fixture
def env(monkeypatch, redis_url, redis_prefix):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", redis_prefix)


def listed(capsys) -> list[dict]:
    capsys.readouterr()
    assert cli.main(["verified", "list", "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_add_list_retire(env, capsys):
    assert (
        cli.main(
            [
                "verified",
                "add",
                "--question",
                "Who signs travel requests?",
                "--answer",
                "Your lead does.",
                "--owner",
                "U0LEAD",
                "--audience",
                "channel:C0HR",
                "--review-by",
                "2027-03-01",
                "--paraphrase",
                "Who approves my trip?",
            ]
        )
        == 0
    )
    assert "Added verified answer" in capsys.readouterr().out
    [entry] = listed(capsys)
    assert (
        entry["question"],
        entry["answer"],
        entry["owner"],
        entry["audience"],
        entry["review_by"],
        entry["paraphrases"],
        entry["status"],
    ) == (
        "Who signs travel requests?",
        "Your lead does.",
        "U0LEAD",
        ["channel:C0HR"],
        "2027-03-01",
        ["Who approves my trip?"],
        "approved",
    )
    assert cli.main(["verified", "retire", entry["id"]]) == 0
    assert listed(capsys) == []
    assert cli.main(["verified", "retire", "nope"]) == 2
    assert "bot verified list" in capsys.readouterr().err


def test_bad_input_says_what_to_fix(env, capsys):
    assert (
        cli.main(
            [
                "verified",
                "add",
                "--question",
                "Q?",
                "--answer",
                "A.",
                "--owner",
                "U1",
                "--review-by",
                "soon",
            ]
        )
        == 2
    )
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert (
        cli.main(
            [
                "verified",
                "add",
                "--question",
                "Q?",
                "--answer",
                "A.",
                "--owner",
                "U1",
                "--audience",
                "hr-team",
            ]
        )
        == 2
    )
    assert "channel:C" in capsys.readouterr().err
    assert listed(capsys) == []


def test_import_checks_every_row_before_storing_any(env, capsys, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(
        "question,answer,owner,audience,review_by,paraphrases\n"
        "Where is the wifi password?,On the fridge.,U0IT,,2027-01-01,wifi password?|What's the wifi key?\n"
        '"Who pays for trains, planes?",Finance.,Ana,channel:C1,,\n'
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer,owner,review_by\nQ1?,A1.,U1,\nQ2?,A2.,,\n")
    assert cli.main(["verified", "import", str(bad)]) == 2
    assert "bad.csv:3" in capsys.readouterr().err and listed(capsys) == []
    assert cli.main(["verified", "import", str(good)]) == 0
    entries = listed(capsys)
    assert [(e["question"], e["audience"], e["paraphrases"], e["source"]) for e in entries] == [
        (
            "Where is the wifi password?",
            ["everyone"],
            ["wifi password?", "What's the wifi key?"],
            "good.csv",
        ),
        ("Who pays for trains, planes?", ["channel:C1"], [], "good.csv"),
    ]
    (tmp_path / "nohead.csv").write_text("q,a\n")
    assert cli.main(["verified", "import", str(tmp_path / "nohead.csv")]) == 2
    assert "answer, owner, question" in capsys.readouterr().err
