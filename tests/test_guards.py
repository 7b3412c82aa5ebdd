import json
import subprocess
import sys
import textwrap

import pytest

from guards.output import OutputGuard
from guards.policy import BusinessRules
from tests.conftest import ROOT

PASSAGES = [
    "Full-time employees get 25 vacation days per year plus public holidays.",
    "Up to five unused vacation days can be carried over to the next year. Call HR at +47 22 33 44 55.",
    "Hotels up to 150 EUR per night are reimbursed.",
]


@pytest.fixture(scope="module")
def guard():
    return OutputGuard(BusinessRules.load())


def reply(answer: str, sources=(1,), confidence=0.9) -> str:
    return json.dumps({"answer": answer, "sources": list(sources), "confidence": confidence})


def test_valid_answer_passes(guard):
    result = guard.check(reply("Full-time employees get 25 vacation days per year [1]."), PASSAGES)
    assert result.passed and result.value.sources == [1]


def test_citing_a_passage_that_was_not_retrieved_fails_with_a_reason(guard):
    result = guard.check(reply("Hotels up to 150 EUR [4].", sources=[4]), PASSAGES)
    assert not result.passed and "[4] were not among those provided" in " ".join(result.problems)


@pytest.mark.parametrize("cited", [[9], [0], [0, 2, 9]])
def test_a_declining_reply_keeps_only_the_passage_numbers_it_was_shown(guard, cited):
    result = guard.check(reply("The passages do not say.", sources=cited, confidence=0), PASSAGES)
    assert result.passed and result.value.sources == [n for n in cited if 1 <= n <= len(PASSAGES)]


def test_an_inline_citation_missing_from_the_sources_fails_with_a_reason(guard):
    text = "Full-time employees get 25 vacation days per year [1]. Hotels up to 150 EUR are reimbursed [3]."
    result = guard.check(reply(text, sources=[1]), PASSAGES)
    assert not result.passed
    assert "[3]" in " ".join(result.problems) and "sources" in " ".join(result.problems)


def test_no_citation_fails(guard):
    assert not guard.check(reply("Hotels up to 150 EUR.", sources=[]), PASSAGES).passed


def test_schema_violations_are_explained(guard):
    result = guard.check(
        '```json\n{"answer": "x [1]", "sources": [1], "confidence": 7}\n```', PASSAGES[:1]
    )
    assert not result.passed and "confidence" in result.problems[0]
    assert "Not valid JSON" in guard.check("Sure! The answer is 25.", PASSAGES[:1]).problems[0]


@pytest.mark.parametrize(
    "answer, problem",
    [
        ("Full-time employees get 30 vacation days per year [1].", "not supported by the passages"),
        (
            "Employees may also work from Bali for six months with full travel paid by the company [1].",
            "not supported by the passages",
        ),
        ("Ask Ada at ada.lovelace@fjordlight.example about 25 vacation days [1].", "EMAIL"),
        (
            "Use the key sk-proj-abcdefghijklmnopqrstuvwxyz123456 for 25 vacation days [1].",
            "SECRET",
        ),
        (
            "As an AI language model, I note that full-time employees get 25 vacation days per year [1].",
            "banned phrase",
        ),
        ("We guarantee full-time employees get 25 vacation days per year [1].", "promise"),
    ],
)
def test_unsupported_leaky_or_rule_breaking_answers_fail_with_the_reason(guard, answer, problem):
    result = guard.check(reply(answer, sources=[1, 2]), PASSAGES)
    assert not result.passed and problem in " ".join(result.problems)


def test_an_answer_must_rest_on_the_passages_it_cites_not_on_any_passage_shown(guard):
    # Every word and number is in the passages shown (25 in [1]), none of them in [3], the
    # one cited: the reader would be sent to a passage that does not say it.
    text = "Full-time employees get 25 vacation days per year [3]."
    result = guard.check(reply(text, sources=[3]), PASSAGES)
    assert not result.passed
    assert "not supported by the passages they cite" in " ".join(result.problems)
    assert guard.check(reply(text.replace("[3]", "[1]"), sources=[1]), PASSAGES).passed


CONTRACTORS = [
    "Contractors do not receive the home-office budget. They may work remotely as agreed."
]


@pytest.mark.parametrize(
    "answer",
    [
        "Yes, contractors can claim the home-office budget [1].",  # Qwen 0.5B, measured
        "Contractors receive the home-office budget [1].",
    ],
)
def test_an_answer_that_drops_the_passages_not_fails(guard, answer):
    result = guard.check(reply(answer), CONTRACTORS, "Can contractors claim the budget?")
    assert not result.passed and "contradict the passages they cite" in result.problems[0]


def test_an_answer_that_keeps_the_passages_not_passes(guard):
    answer = "No, contractors do not receive the home-office budget [1]."
    assert guard.check(reply(answer), CONTRACTORS, "Can contractors claim the budget?").passed


@pytest.mark.parametrize(
    "answer",
    [
        "Submit the claim in Expenso no later than 60 days, with a receipt [1].",
        "Expenso claims need not only a receipt but also a note over 250 EUR [1].",
    ],
)
def test_a_bound_or_an_addition_written_with_not_is_no_negation(guard, answer):
    passage = ["Submit the claim in Expenso within 60 days, with a receipt; a note over 250 EUR."]
    result = guard.check(reply(answer), passage, "When must I submit a claim?")
    assert result.passed, result.problems


@pytest.mark.parametrize(
    "question, answer",
    [
        ("VPN 접속이 안 돼요", "VPN 접속이 안 돼요. [1]"),  # Qwen 0.5B, measured
        ("Can I carry over unused vacation days?", "Yes [1]."),
        # Right or wrong, nothing in a yes/no with the question restated can be checked: the
        # passage is quoted instead (Qwen 0.5B wrote the first, citing the budget's row).
        ("Can contractors claim the home-office budget?", "Yes, contractors can claim it [1]."),
        ("Does the office open at 7 am?", "Yes, the office opens at 7 am [1]."),
        (
            "직원도 재택근무 예산을 받을 수 있나요?",
            "네, 직원도 재택근무 예산을 받을 수 있습니다 [1].",
        ),
    ],
)
def test_an_answer_that_only_repeats_the_question_fails(guard, question, answer):
    passages = [
        "VPN에 연결할 수 없으면 헬프데스크에 문의하세요.",
        PASSAGES[1],
        "The office opens at 7 am. Contractors do not receive the home-office budget.",
        "직원도 재택근무 예산을 받을 수 있습니다.",
    ]
    result = guard.check(reply(answer, sources=[1, 2]), passages, question)
    assert not result.passed and "only repeats the question" in result.problems[0]
    # The same words given as an answer to another question are checked as usual.
    assert not any("repeats" in p for p in guard.check(reply(answer, [1, 2]), passages).problems)


@pytest.mark.parametrize(
    "question, answer, passage",
    [
        (
            "How much do employees get?",
            "Employees receive up to 500 dollars a year [1].",
            "Contractors do not receive the budget; employees receive up to 500 dollars a year.",
        ),
        (
            "Who gets the budget?",
            "Employees receive the home-office budget, contractors do not [1].",
            "Employees receive the home-office budget.",
        ),
        (
            "Which form is it?",
            "Use form No. 12 for travel claims [1].",
            "Travel claims use form No. 12.",
        ),
    ],
)
def test_right_answers_the_claim_checks_once_rejected_pass(guard, question, answer, passage):
    result = guard.check(reply(answer), [passage], question)
    assert result.passed, result.problems


def test_a_korean_answer_must_keep_the_passages_negation(guard):
    passage = ["계약직은 홈오피스 장비 지원 예산을 받을 수 없습니다."]
    flipped = guard.check(
        reply("계약직도 홈오피스 예산을 받을 수 있습니다 [1]."), passage, "계약직도 받나요?"
    )
    assert not flipped.passed and "contradict" in flipped.problems[0]
    kept = guard.check(
        reply("계약직은 홈오피스 예산을 받을 수 없습니다 [1]."), passage, "계약직도 받나요?"
    )
    assert kept.passed, kept.problems


def test_personal_data_that_the_passages_contain_may_be_quoted(guard):
    assert guard.check(
        reply("Call HR at +47 22 33 44 55 about carrying over vacation days [2].", sources=[2]),
        PASSAGES,
    ).passed


# Runs guardrails in a fresh interpreter whose sockets refuse and record every connection
# that is not to loopback, then flushes guardrails' span exporter so anything queued is sent.
PROBE = textwrap.dedent("""
    import json, socket, sys
    attempts = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(str(host))
            raise socket.gaierror("network disabled by test")
        return real_getaddrinfo(host, *args, **kwargs)
    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            attempts.append(str(address[0]))
            raise OSError("network disabled by test")
        return real_connect(self, address)
    socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect

    if sys.argv[1] == "ours":
        from guards.output import OutputGuard
        guard = OutputGuard()
        for raw in ('{"answer": "a [1]", "sources": [1], "confidence": 0.5}', '{"answer": "a", "sources": [3], "confidence": 0.5}'):
            guard.check(raw, ["a"])
    else:  # guardrails as it comes: the control that shows this probe can see telemetry
        import guards._guardrails  # offline nltk path only
        from guardrails import Guard
        from guardrails.settings import settings
        from pydantic import BaseModel
        class A(BaseModel):
            answer: str
        guard = Guard.for_pydantic(A)
        settings.rc.enable_metrics = True
        guard.configure(allow_metrics_collection=True)
        guard.parse('{"answer": "a"}')
    from guardrails.utils.hub_telemetry_utils import HubTelemetry
    telemetry = HubTelemetry()
    telemetry._tracer_provider.force_flush(5000)
    print(json.dumps({"attempts": attempts, "enabled": telemetry._enabled}))
""")


def run_probe(mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_guardrails_telemetry_is_off_and_nothing_leaves_the_machine():
    ours = run_probe("ours")
    assert ours == {"attempts": [], "enabled": False}
    control = run_probe("control")
    assert control["enabled"] and control["attempts"], (
        "the probe must see guardrails' telemetry when it is on"
    )


def test_the_output_guard_eval_passes_faithful_quotes_and_catches_misattributed_ones():
    import csv

    from bot.ops.evals.guards import output_guard_latency
    from tests.conftest import SAMPLE_KB

    with (SAMPLE_KB / "faq.csv").open(newline="", encoding="utf-8") as handle:
        answers = [row["answer"] for row in csv.DictReader(handle)]
    figures = output_guard_latency(answers)
    assert figures["faithful_answers_passed"] == 1.0
    assert figures["unfaithful_answers_caught"] >= 0.9
    assert 0 < figures["p50_ms"] <= figures["p95_ms"]  # one timing a check, summarised


KOREAN_PASSAGES = [
    "정규직 직원은 매년 25일의 연차 휴가를 받습니다. 사용하지 않은 연차 휴가는 최대 5일까지 다음 해로 "
    "이월할 수 있으며, 이월된 휴가는 3월 말까지 사용해야 합니다."
]


@pytest.mark.parametrize(
    "answer",
    [
        "정규직이면 연차 휴가가 매년 25일 주어집니다 [1].",  # other particles and endings
        "안 쓴 연차는 다음 해로 5일까지 이월되고, 이월한 휴가는 3월 말 전에 써야 해요 [1].",
    ],
)
def test_a_faithful_korean_answer_in_other_words_passes(guard, answer):
    result = guard.check(reply(answer), KOREAN_PASSAGES)
    assert result.passed, result.problems


def test_long_korean_words_are_compared_whole():
    """The keyword search also indexes a long word's syllable pairs (잃어버리: 잃어, 어버, 버리);
    counted by grounding, they made this paraphrase share too few words with its passage."""
    from guards.grounding import unsupported_sentences

    passage = "업무용 노트북을 분실하면 즉시 보안팀에 신고해야 합니다. 보안팀은 원격으로 기기를 잠그고 데이터를 삭제합니다."
    assert unsupported_sentences("노트북을 잃어버렸다면 바로 보안팀에 신고하세요.", [passage]) == []
    assert unsupported_sentences("노트북을 잃어버리면 본인이 배상해야 합니다.", [passage]) != []


@pytest.mark.parametrize(
    "answer",
    [
        "정규직 직원은 매년 30일의 연차 휴가를 받습니다 [1].",  # an invented number
        "남은 연차는 모두 현금으로 보상받을 수 있습니다 [1].",  # a rule from elsewhere
        "재택근무는 승인 없이 매일 할 수 있으며 근무 시간도 자유입니다 [1].",
    ],
)
def test_an_unsupported_korean_answer_fails(guard, answer):
    result = guard.check(reply(answer), KOREAN_PASSAGES)
    assert not result.passed and "not supported by the passages" in " ".join(result.problems)


HELP_TITLE = "IT 지원 안내 > 소프트웨어 설치 요청 (https://intranet.fjordlight.example/ko/it/help)"
HELP_PASSAGE = (
    "유료 소프트웨어는 IT 서비스 포털에 설치 요청 티켓을 올리면 보안 검토 후 설치해 드립니다."
)


def test_an_answer_that_only_names_its_source_fails(guard):
    # Qwen 0.5B's whole answer to "유료 프로그램 설치하고 싶은데 어떻게 요청해요?", measured.
    result = guard.check(
        reply(f"{HELP_TITLE} [1]"), [HELP_PASSAGE], "유료 프로그램 설치 요청", [HELP_TITLE]
    )
    assert not result.passed and "only names a source" in result.problems[0]


def test_an_answer_that_names_its_source_and_says_what_it_says_passes(guard):
    answer = (
        f"IT 서비스 포털에 설치 요청 티켓을 올리면 보안 검토 후 설치해 드립니다 [1]. ({HELP_TITLE})"
    )
    result = guard.check(reply(answer), [HELP_PASSAGE], "유료 프로그램 설치 요청", [HELP_TITLE])
    assert result.passed, result.problems
