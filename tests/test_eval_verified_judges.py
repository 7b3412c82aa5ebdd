"""`bot eval verified-judges`: how each rule picks, leads and is chosen on the calibration half
(the whole run over the COVID paraphrases: README, "Verified answers on the COVID paraphrases")."""

import numpy as np

from bot.chain.answer_cache import normalised
from bot.cli import commands as cli
from bot.ops.evals.verified import Asked, covid_cases
from bot.ops.evals.verified_judges import (
    Scores,
    choose,
    faq_rows,
    leading,
    rule_scores,
    served,
)
from tests.conftest import EVAL_DATA, needs_eval_data


def test_the_best_entry_leads_the_second_best_by_the_difference():
    found = leading(np.array([[0.90, 0.95, 0.80], [0.70, 0.60, 0.91]]))
    assert found.best.tolist() == [1, 2]
    assert np.allclose(found.score, [0.95, 0.91]) and np.allclose(found.lead, [0.05, 0.21])
    assert np.isinf(leading(np.array([[0.9]])).lead).all()  # one entry: nothing to lead


def test_a_question_is_served_only_at_the_threshold_and_the_margin():
    verified = ["q0", "q1"]
    asked = [Asked("a", "q0", "test"), Asked("b", "q1", "test"), Asked("c", "", "test")]
    scores = Scores(np.array([0, 1, 1]), np.array([0.95, 0.95, 0.85]), np.array([0.05, 0.01, 0.2]))
    assert [f for _, f in served(scores, verified, asked, 0.9, 0.0)] == ["q0", "q1", ""]
    assert [f for _, f in served(scores, verified, asked, 0.9, 0.02)] == ["q0", "", ""]
    assert [f for _, f in served(scores, verified, asked, 0.8, 0.02)] == ["q0", "", "q1"]


def test_the_chosen_pair_serves_the_most_paraphrases_without_a_wrong_answer():
    verified = ["q0", "q1"]
    asked = [
        Asked("right, clear lead", "q0", "calibration"),
        Asked("wrong entry, close call", "q0", "calibration"),
        Asked("right, low score", "q1", "calibration"),
        *(Asked(f"other {n}", "", "calibration") for n in range(10)),
        Asked("held back", "q1", "test"),
    ]
    scores = Scores(
        best=np.array([0, 1, 1, *[0] * 10, 1]),
        score=np.array([0.95, 0.96, 0.86, *[0.84] * 10, 0.99]),
        lead=np.array([0.04, 0.01, 0.05, *[0.03] * 10, 0.0]),
    )
    # Without a margin only a threshold above 0.96 keeps the wrong entry out (serving nothing);
    # a 0.02 margin blocks it, a 0.05 one blocks the first paraphrase too. With 0.02, any
    # threshold from 0.845 (above the other questions) to 0.86 serves two of three: the highest.
    assert choose(scores, verified, asked, np.array([0.0, 0.02, 0.05])) == (0.86, 0.02)


@needs_eval_data
def test_every_verified_question_has_its_row_and_answer_in_the_knowledge_base():
    verified, _ = covid_cases(EVAL_DATA)
    questions = {normalised(q) for q, _ in faq_rows(EVAL_DATA)}
    assert all(normalised(q) in questions for q in verified)


def test_another_knowledge_base_row_competes_but_the_entrys_own_row_does_not(embedder):
    verified = ["How do I reset my password?"]
    asked = [Asked("I forgot my password, how can I change it?", "", "test")]
    own = ("How do I reset my password?", "Open id.example.com and press Forgot password.")
    rival = ("How do I reset my VPN token?", "Ask the service desk for a new VPN token.")
    alone = rule_scores(embedder, verified, asked, [own, own])
    # One entry and only its own row (twice, as a question asked twice in an FAQ): no runner-up.
    assert np.isinf(alone["knowledge_base_margin"].lead).all()
    rivalled = rule_scores(embedder, verified, asked, [own, rival])
    lead = rivalled["knowledge_base_margin"].lead[0]
    assert 0 < lead < 0.2
    assert rivalled["knowledge_base_margin"].score[0] == rivalled["question_answer_margin"].score[0]


def test_the_command_says_where_the_evaluation_data_should_be(tmp_path, capsys):
    assert cli.main(["eval", "verified-judges", "--data", str(tmp_path / "none")]) == 2
    assert f"no evaluation data at {tmp_path / 'none'}" in capsys.readouterr().err
