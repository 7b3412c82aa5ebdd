"""Answer-level evaluation: rated answers exported as cases, the whole chain run over cases and
scored, and the regression gate on the sample knowledge base (tests/data/sample_answers.jsonl),
with a stand-in model on localhost that does what its answer prompt says."""

import json

import pytest

from bot.chain.agent import Agent
from bot.chain.prompt_variants import PROMPTS_DIR, load_prompt, prompt_named
from bot.cli import commands as cli
from bot.ops.evals.answers import evaluate, read_cases
from bot.ops.evals.compare import compare, render
from bot.ops.evals.feedback import cases
from knowledge.access import Asker
from tests.conftest import ROOT
from tests.fakes.openai_server import quote_first_passage

GATE_DATASET = ROOT / "tests" / "data" / "sample_answers.jsonl"
TIMID = "- Unless the passage repeats the question word for word, set confidence to 0."
CHATTY = "- Add what you know about the topic beyond the passages."


def obeys_its_prompt(messages: list[dict[str, str]]) -> str:
    """A model that follows the one rule each worse prompt adds to answer-v1."""
    system = messages[0]["content"]
    if TIMID in system:  # it quotes the passage but is never sure: a confidence of 0 is a refusal
        return json.dumps({**json.loads(quote_first_passage(messages)), "confidence": 0})
    if CHATTY in system:
        quoted = json.loads(quote_first_passage(messages))["answer"]
        return json.dumps(
            {
                "answer": f"{quoted} Most companies also pay a bonus of 3,000 EUR for this [1].",
                "sources": [1],
                "confidence": 0.9,
            }
        )
    return quote_first_passage(messages)


@pytest.fixture
def eval_env(monkeypatch, kb_settings, fake_openai):
    fake_openai.model = obeys_its_prompt
    for name, value in {
        "QDRANT_PATH": str(kb_settings.knowledge.qdrant_path),
        "REDIS_URL": kb_settings.redis_url,
        "REDIS_PREFIX": kb_settings.redis_prefix,
        "OPENAI_BASE_URL": fake_openai.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    return kb_settings.replace(openai_base_url=fake_openai.base_url)


def worse_prompt(tmp_path, name: str, rule: str):
    path = tmp_path / f"{name}.txt"
    base = (PROMPTS_DIR / "answer-v1.txt").read_text(encoding="utf-8")
    path.write_text(base.replace("\nRules:\n", f"\nRules:\n{rule}\n"), encoding="utf-8")
    return str(path)


def test_the_gate_passes_equal_prompts_and_fails_worse_ones(
    eval_env, tmp_path, embedder, redis_client
):
    same_twice, timid, chatty = (
        load_prompt("answer-v1"),
        prompt_named(worse_prompt(tmp_path, "answer-timid", TIMID)),
        prompt_named(worse_prompt(tmp_path, "answer-chatty", CHATTY)),
    )
    baseline, again, timid_run, chatty_run = evaluate(
        eval_env, [same_twice, same_twice, timid, chatty], read_cases(GATE_DATASET), embedder
    )
    figures = baseline["figures"]
    # 8 of the 9 answerable cases cite their source on multilingual-e5: "How do I connect to the
    # company network from home?" is refused (best passage 0.843 < MIN_RELEVANCE 0.85; README).
    assert (
        figures["cases"] == 12
        and figures["cited_rate"] == round(8 / 9, 4)
        and figures["refusal_accuracy"] == 1.0
    )
    assert figures["by_mode"].get("llm", 0) >= 4, (
        "the gate must exercise the model, not only the FAQ path"
    )
    assert figures["cost_usd"] > 0 and figures["guard_failures"] == 0
    same = compare(baseline, again)
    assert same["passed"] and same["regressions"] == [] and same["cases_worse"] == []
    assert "PASS: answer-v1 does not regress" in render(same)

    refuses = compare(baseline, timid_run)
    assert not refuses["passed"]
    # The timid prompt cites fewer sources; with the baseline's own false refusal (above) its
    # refusal figures no longer move on these 12 cases.
    assert [r.split(":")[0] for r in refuses["regressions"]] == ["expected source cited"]
    assert "Can contractors claim the home-office budget?" in {
        c["question"] for c in refuses["cases_worse"]
    }
    assert "FAIL: answer-timid regresses" in render(refuses)

    ungrounded = compare(baseline, chatty_run)
    regressed = [r.split(":")[0] for r in ungrounded["regressions"]]
    assert regressed == [
        "guard failures per answer",
        "cost per answer (USD)",
    ]  # re-asked, then quoted
    assert (
        chatty_run["figures"]["cited_rate"] == figures["cited_rate"]
    )  # the quoted fallback still cites the right source
    # A run leaves nothing behind in the deployment's Redis: no turns, usage or memory of its own.
    assert not list(redis_client.scan_iter(f"{eval_env.redis_prefix}*"))


def test_bot_eval_compare_exits_1_when_the_candidate_regresses(eval_env, tmp_path, capsys):
    two = tmp_path / "two.jsonl"
    two.write_text("".join(line + "\n" for line in GATE_DATASET.read_text().splitlines()[3:5]))
    timid = worse_prompt(tmp_path, "answer-timid", TIMID)
    assert (
        cli.main(
            [
                "eval",
                "compare",
                "--baseline",
                "answer-v1",
                "--candidate",
                timid,
                "--dataset",
                str(two),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert (
        "expected source cited" in out
        and "REGRESSED" in out
        and "FAIL: answer-timid regresses" in out
    )
    assert (
        cli.main(
            [
                "eval",
                "compare",
                "--baseline",
                "answer-v1",
                "--candidate",
                "answer-v1",
                "--dataset",
                str(two),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["passed"] is True


def test_a_rated_answer_becomes_a_case_that_eval_answers_runs(
    eval_env, make_deps, tmp_path, capsys
):
    agent = Agent(make_deps(eval_env))
    kept = agent.answer("How many days a week can I work from home?", "C1:1", Asker("U1", "C1"))
    disliked = agent.answer(
        "Can contractors claim the home-office budget?", "C1:2", Asker("U1", "C1")
    )
    agent.deps.turns.rate(kept.turn_id, "U1", "up")
    agent.deps.turns.rate(disliked.turn_id, "U1", "down")
    agent.deps.turns.explain(disliked.turn_id, "U1", "incomplete", "What about freelancers?")
    agent.deps.turns.rate(disliked.turn_id, "U2", "up")

    assert cli.main(["eval", "export-feedback", "--rating", "down"]) == 0
    [case] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert case["question"] == "Can contractors claim the home-office budget?"
    assert (case["expected_sources"], case["should_refuse"]) == (
        None,
        None,
    )  # for the reviewer to fill
    assert (case["rating"], case["up"], case["down"]) == ("down", 1, 1)
    assert (case["reasons"], case["comments"]) == (["incomplete"], ["What about freelancers?"])
    assert case["answer_given"] == disliked.text and case["sources_given"] == [
        p.chunk.title for p in disliked.sources
    ]
    assert case["variant"] == "answer-v1" and case["turn_id"] == disliked.turn_id
    assert cli.main(["eval", "export-feedback"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2

    exported = tmp_path / "cases.jsonl"
    exported.write_text(json.dumps(case) + "\n")
    assert read_cases(exported) == [case]
    agent.deps.close()  # the store is one process's: the evaluation opens it next
    assert cli.main(["eval", "answers", "--dataset", str(exported), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["variant"] == "answer-v1" and result["figures"]["rated_cases"] == 1
    assert result["figures"]["changed"] == 0 and result["cases"][0]["answer"] == disliked.text
    assert (
        result["figures"]["cited_cases"] == 0
    )  # nothing to score on until a reviewer says what is right
    assert cli.main(["eval", "answers", "--dataset", str(exported)]) == 0
    assert "rated answers      0 of 1 now answered differently" in capsys.readouterr().out


def test_feedback_cases_keep_a_follow_up_as_it_was_searched():
    from bot.chain.turn_log import Feedback, RatedTurn, TurnRecord

    turn = TurnRecord(
        "t1",
        "and for interns?",
        "I could not find this.",
        "extractive",
        refused=True,
        reason="no_answer",
        searched="How much is the home-office budget for interns?",
    )
    [case] = cases(
        [RatedTurn(turn, [Feedback("down", "wrong", at=2.0), Feedback("down", "wrong", at=1.0)])]
    )
    assert case["question"] == "How much is the home-office budget for interns?"
    assert (
        case["reasons"] == ["wrong"]
        and case["refused"]
        and cases([RatedTurn(turn, [Feedback("up")])], "down") == []
    )


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "cases.jsonl:1: not JSON"),
        ('{"text": "no question"}', "expected an object with a question"),
        (
            '{"question": "q", "expected_sources": "Travel Policy"}',
            "expected_sources must be a list",
        ),
        ('{"question": "q", "should_refuse": "yes"}', "should_refuse must be true, false or null"),
    ],
)
def test_a_bad_case_file_says_which_line_and_what_to_fix(tmp_path, capsys, line, error):
    path = tmp_path / "cases.jsonl"
    path.write_text(line + "\n")
    assert cli.main(["eval", "answers", "--dataset", str(path)]) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (
            ["eval", "compare", "--dataset", "cases.jsonl", "--baseline", "answer-v1"],
            "compare needs --baseline PROMPT and",
        ),
        (["eval", "answers"], "answers needs --dataset FILE.jsonl"),
    ],
)
def test_eval_commands_say_what_they_need(capsys, argv, error):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2 and error in capsys.readouterr().err


def test_an_unknown_prompt_names_the_ones_there_are(tmp_path, capsys):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"question": "q"}\n')
    assert cli.main(["eval", "answers", "--dataset", str(path), "--variant", "answer-v9"]) == 2
    assert "no prompt 'answer-v9'" in capsys.readouterr().err
    assert (
        cli.main(["eval", "answers", "--dataset", str(path), "--variant", "drafts/answer-v9.txt"])
        == 2
    )
    assert "no prompt file drafts/answer-v9.txt" in capsys.readouterr().err


def test_a_retrieval_dataset_reads_as_cases_to_answer_and_off_topic_questions_as_cases_to_refuse(
    tmp_path,
):
    from bot.ops.evals.answers import refusal_cases

    dataset = tmp_path / "ko.jsonl"
    dataset.write_text(
        '{"question": "연차는 며칠이에요?", "relevant": ["휴가 규정 > 연차 휴가"], "half": "test"}\n'
        '{"question": "병가는 어떻게 써요?", "relevant": ["휴가 규정 > 병가"], "half": "calibration"}\n'
    )
    [case] = read_cases(dataset, "test")
    assert case["expected_sources"] == ["휴가 규정 > 연차 휴가"] and case["should_refuse"] is False
    assert len(read_cases(dataset)) == 2
    assert refusal_cases(["내일 서울 날씨 어때요?"]) == [
        {"question": "내일 서울 날씨 어때요?", "expected_sources": None, "should_refuse": True}
    ]
