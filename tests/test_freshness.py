"""Documents with owners and review dates: recorded at ingest, noted in answers that cite them
once past due, listed in the report (text and HTML) with the review queue."""

import os

from bot.chain.agent import Agent
from bot.chain.verified import Verified
from bot.ops.loop_report import loop_lines, loop_section
from bot.ops.report import build
from bot.ops.report_html import render_html

CANTEEN = """---
owner: ana@fjordlight.example
review_by: 2025-01-31
---
# Canteen

The canteen opens at 11:30 on weekdays and serves a vegetarian dish every day.
"""


def ingest_canteen(deps, embedder, folder):
    from ingest.pipeline import Pipeline
    from knowledge.sparse import SparseEncoder

    folder.mkdir()
    page = folder / "canteen.md"
    page.write_text(CANTEEN)
    os.utime(page, (1_700_000_000, 1_700_000_000))  # last changed 2023-11-14
    Pipeline(deps.store, embedder, SparseEncoder()).run([folder])


def test_an_answer_citing_a_document_past_its_review_date_says_when_it_was_last_reviewed(
    kb_settings, make_deps, embedder
):
    deps = make_deps(kb_settings.replace(answer_cache=False))
    ingest_canteen(deps, embedder, kb_settings.knowledge.data_dir / "extra")
    answer = Agent(deps).answer("When does the canteen open?", "f1")
    assert "11:30" in answer.text
    assert (
        "was due for review on 2025-01-31; last reviewed 2023-11-14 (owner: ana@fjordlight.example)"
        in answer.text
    )
    fresh = Agent(deps).answer("How much is the home-office budget?", "f2")
    assert "due for review" not in fresh.text


def test_the_report_lists_stale_documents_the_review_queue_and_the_wait_for_an_answer(
    kb_settings, make_deps, embedder
):
    deps = make_deps(kb_settings)
    ingest_canteen(deps, embedder, kb_settings.knowledge.data_dir / "extra")
    deps.escalations.open("Is there parking?", "C1", "1.1", "U1")
    asked = deps.escalations.open("Can I bring my dog?", "C1", "2.1", "U2")
    draft = deps.escalations.capture(
        asked, "Fridays only.", "UEXPERT", "https://example.slack.com/p1"
    )
    deps.verified.approve(draft.id)
    deps.verified.save(Verified("Old question?", "Old answer.", "U9", review_by="2020-01-01"))
    loop = loop_section(deps.verified, deps.escalations, deps.store.chunks(), "2026-12-07")
    assert [d["title"] for d in loop["stale_documents"]] == ["Canteen"]
    assert loop["stale_documents"][0]["owner"] == "ana@fjordlight.example"
    assert [q["question"] for q in loop["review_queue"]["questions"]] == ["Is there parking?"]
    assert loop["escalation_to_approval_hours"]["answers"] == 1
    assert [e["question"] for e in loop["verified_overdue"]] == ["Old question?"]
    text = "\n".join(loop_lines(loop))
    assert (
        "Canteen" in text and "review by 2025-01-31" in text and "past review-by 2020-01-01" in text
    )
    report = build(deps.turns, 7, embedder.embed_documents)
    page = render_html({**report, "loop": loop})
    assert "Review queue" in page and "Canteen" in page and "Is there parking?" in page
