"""`bot eval verified`'s cases and rates: which questions are verified, what each asked question
should be served, and how the rates count (the whole run: `bot eval verified`, Evaluations)."""

from bot.ops.evals.verified import Asked, covid_cases, rates_of
from tests.conftest import EVAL_DATA, needs_eval_data


@needs_eval_data
def test_half_the_faqs_are_verified_and_every_question_is_asked_once_in_one_half():
    verified, asked = covid_cases(EVAL_DATA)
    faqs = {case.expected for case in asked if case.expected}
    assert faqs <= set(verified) and 0.35 < len(verified) / 92 < 0.65
    assert {case.half for case in asked} == {"calibration", "test"}
    assert all(case.question not in verified for case in asked if not case.expected and case.half)
    assert covid_cases(EVAL_DATA) == (verified, asked)  # stable from run to run


def test_rates_count_right_wrong_and_false_serves():
    cases = [
        (Asked("p1", "q1", "test"), "q1"),
        (Asked("p2", "q1", "test"), ""),
        (Asked("p3", "q2", "test"), "q1"),
        (Asked("o1", "", "test"), ""),
        (Asked("o2", "", "test"), "q2"),
    ]
    assert rates_of(cases) == {
        "paraphrases": 3,
        "served_paraphrases": 0.333,
        "served_a_wrong_answer": 1,
        "other_questions": 2,
        "false_serves": 0.5,
    }
