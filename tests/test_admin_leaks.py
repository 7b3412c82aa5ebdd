"""Admins' tools never print a restricted passage's text: `bot report` (text, JSON, the page),
`/kb report`, `/kb why` and `bot trace`, and the feedback export show a restricted answer by its
turn id and its sources' titles, while a public answer stays readable. Real chain, Qdrant and
Redis; the scripted model on localhost."""

import json
import time
from dataclasses import asdict

import pytest

from bot.chain.agent import Agent
from bot.chain.turn_log import WITHHELD, TurnLog, TurnRecord, last_days
from bot.ops.evals.feedback import cases
from bot.ops.report import build
from bot.ops.report_html import render_html
from bot.ops.report_text import render_slack, render_text
from bot.ops.traceview import TraceStore, render, tree
from bot.ops.tracing import CONTENT, WithoutContent
from bot.slack.reindexer import Reindexer
from bot.slack.slash_commands import Commands
from knowledge.access import Asker
from tests.access_helpers import HR, SECRETS
from tests.fakes.otlp import FakeCollector

INVENTED = "Level E3 earns 99,999 EUR a year [1]."
PUBLIC = "How many vacation days do I get per year?"


@pytest.fixture
def rated(restricted_settings, make_deps, fake_openai):
    """An HR answer whose first draft the guards rejected, and a public one; both rated 👎."""
    deps = make_deps(
        restricted_settings.replace(
            openai_base_url=fake_openai.base_url,
            answer_cache=False,
            faq_match=2.0,
            slack_admin_users=frozenset({"UADMIN"}),
        )
    )
    return (deps, *answered(deps, fake_openai))


def answered(deps, fake_openai):
    agent, answers = Agent(deps), []
    for question, asker in (
        ("What are the salary bands for engineers?", HR),
        (PUBLIC, Asker("U2", "CGEN")),
    ):
        fake_openai.enqueue(json.dumps({"answer": INVENTED, "sources": [1], "confidence": 0.9}))
        answers.append(agent.answer(question, f"{asker.channel}:1", asker))
        deps.turns.rate(answers[-1].turn_id, "U1", "down")
        deps.turns.explain(answers[-1].turn_id, "U1", "wrong", "see the sources")
    restricted, public = answers
    assert (
        "71,000" in restricted.text
        and restricted.sources[0].chunk.restricted
        and not public.sources[0].chunk.restricted
    )
    assert deps.telemetry.flush()
    return restricted, public


def secrets_in(text: str) -> list[str]:
    return [secret for secret in (*SECRETS, "99,999") if secret in text]


def test_reports_and_the_feedback_export_withhold_a_restricted_answers_text(rated, embedder):
    deps, restricted, public = rated
    report = build(deps.turns, 1, embedder.embed_questions)
    printed = {
        "text": render_text(report),
        "json": json.dumps(report),
        "page": render_html(report),
        "slack": render_slack(report),
        "/kb report": Commands(deps, Reindexer(deps)).handle("report 1", "UADMIN", print),
    }
    for name, text in printed.items():
        assert secrets_in(text) == [], name
    [hr_row] = [row for row in report["downvoted"] if row["turn"] == restricted.turn_id]
    assert hr_row["answer"] == WITHHELD and hr_row["sources"] == ["Salary bands 2026"]
    [public_row] = [row for row in report["downvoted"] if row["turn"] == public.turn_id]
    assert public_row["answer"] == public.text  # a public answer is shown as given
    exported = {case["turn_id"]: case for case in cases(deps.turns.rated_turns(last_days(1)))}
    assert exported[restricted.turn_id]["answer_given"] == WITHHELD
    assert exported[restricted.turn_id]["sources_given"] == ["Salary bands 2026"]
    assert exported[public.turn_id]["answer_given"] == public.text


def test_a_restricted_turns_trace_shows_ids_and_timings_not_text(rated, redis_client, redis_prefix):
    deps, restricted, public = rated
    traces = TraceStore(redis_client, redis_prefix)
    spans = traces.spans(restricted.turn_id)
    problems = [
        s["attributes"]["kb.guard.problems"]
        for s in spans
        if "kb.guard.problems" in s["attributes"]
    ]
    assert problems and all(p == WITHHELD for p in problems)
    drawn = render(spans) + json.dumps(tree(spans))
    why = Commands(deps, Reindexer(deps)).handle(f"why {restricted.turn_id[:8]}", "UADMIN", print)
    assert secrets_in(drawn) == [] and secrets_in(why) == [] and WITHHELD in why
    assert restricted.sources[0].id in drawn  # ids stay, to find the passage
    # A public turn's trace keeps the guards' words: what a reviewer needs to see why a draft failed.
    public_problems = [
        s["attributes"]["kb.guard.problems"]
        for s in traces.spans(public.turn_id)
        if "kb.guard.problems" in s["attributes"]
    ]
    assert public_problems and all(p != WITHHELD for p in public_problems)


@pytest.mark.parametrize("content", [False, True], ids=["default", "OTEL_EXPORT_CONTENT"])
def test_an_otlp_collector_gets_no_words_unless_the_operator_opts_in(
    content, restricted_settings, make_deps, fake_openai
):
    with FakeCollector() as collector:
        deps = make_deps(
            restricted_settings.replace(
                openai_base_url=fake_openai.base_url,
                answer_cache=False,
                faq_match=2.0,
                otel_exporter_otlp_endpoint=collector.endpoint,
                otel_export_content=content,
            )
        )
        restricted, _public = answered(deps, fake_openai)
        assert deps.telemetry.flush()
    sent = json.dumps(collector.spans, ensure_ascii=False)
    keys = {key for span in collector.spans for key in span["attributes"]}
    # Ids, scores and the restricted mark reach the collector either way: enough to find the turn.
    assert (
        restricted.turn_id in {s["trace_id"] for s in collector.spans}
        and restricted.sources[0].id in sent
    )
    assert "kb.passages.scores" in keys and "kb.restricted" in keys
    if content:
        assert {"kb.question", "kb.guard.problems", "kb.notes"} <= keys and "99,999" in sent
    else:
        assert keys & CONTENT == set() and secrets_in(sent) == [] and "salary bands" not in sent


def test_an_errors_message_stays_out_of_the_collector_its_type_does_not():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    kept, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(WithoutContent(kept)))
    with (
        pytest.raises(ValueError),
        provider.get_tracer("t").start_as_current_span(
            "table.query", attributes={"kb.sql": "SELECT band FROM salary_bands", "kb.sql.rows": 3}
        ),
    ):
        raise ValueError("no band 71,000 in salary_bands")
    [span] = kept.get_finished_spans()
    assert dict(span.attributes) == {"kb.sql.rows": 3}
    [event] = span.events
    assert dict(event.attributes) == {"exception.type": "ValueError", "exception.escaped": "False"}
    assert span.status.status_code.name == "ERROR" and not span.status.description


def test_a_reindex_that_fails_unexpectedly_tells_the_admin_its_kind_not_its_text(
    kb_settings, make_deps, monkeypatch
):
    import ingest.reindex

    def broken(*args, **kwargs):
        raise RuntimeError("could not reach postgres://admin:hunter2@db.internal/kb")

    monkeypatch.setattr(ingest.reindex, "reindex", broken)
    said: list[str] = []
    Reindexer(make_deps(kb_settings))._run([], said.append)
    [message] = said
    assert "RuntimeError" in message and "log" in message and "hunter2" not in message


def test_records_and_traces_from_before_the_restricted_mark_are_withheld(
    redis_client, redis_prefix, embedder
):
    """Written by an earlier version, they say nothing of their sources' audience: withheld (fail closed)."""
    log, now = TurnLog(redis_client, redis_prefix), time.time()
    hr = [{"id": "p1", "doc_id": "salary-bands", "title": "Salary bands 2026"}]
    for old in (
        TurnRecord(
            "old1",
            "and for E4?",
            "Level E4 earns between 86,000 and 101,000 EUR a year.",
            "llm",
            searched="What does level E4 earn?",
            sources=hr,
            at=now,
        ),
        TurnRecord(
            "old2",
            "and for the new project?",
            "I could not find this.",
            "extractive",
            refused=True,
            reason="no_answer",
            searched="What is the salary band of project Kestrel?",
            sources=hr,
            at=now,
        ),
    ):
        log.record(old)
        written_before = {key: value for key, value in asdict(old).items() if key != "restricted"}
        redis_client.set(f"{redis_prefix}turn:{old.id}", json.dumps(written_before))
        log.rate(old.id, "U1", "down")
    report = build(log, 1, embedder.embed_questions)
    assert secrets_in(render_text(report) + json.dumps(report) + render_html(report)) == []
    assert [row["answer"] for row in report["downvoted"]] == [WITHHELD, WITHHELD]
    assert report["gaps"][0]["examples"] == [
        "and for the new project?"
    ]  # the question, not its rewrite
    exported = cases(log.rated_turns(last_days(1)))
    assert {case["answer_given"] for case in exported} == {WITHHELD}
    assert (
        TurnRecord.from_json(json.dumps({**written_before, "restricted": False})).shown_answer
        == old.answer
    )

    # A trace whose root span has no kb.restricted (written before it existed) is withheld too.
    root = {
        "name": "turn",
        "span_id": "a" * 16,
        "parent_id": "",
        "start_ns": 0,
        "end_ns": 10**6,
        "attributes": {"kb.mode": "llm", "kb.sources": ["p1"]},
        "status": "UNSET",
        "error": "",
    }
    step = {
        **root,
        "name": "table.query",
        "span_id": "b" * 16,
        "parent_id": "a" * 16,
        "attributes": {
            "kb.sql": "SELECT * FROM salary_bands WHERE project = 'Kestrel'",
            "kb.sql.rows": 1,
        },
    }
    turn = "c" * 32
    redis_client.rpush(f"{redis_prefix}trace:{turn}", json.dumps(step), json.dumps(root))
    redis_client.zadd(f"{redis_prefix}traces", {turn: now})
    spans = TraceStore(redis_client, redis_prefix).spans(turn)
    assert [s["attributes"].get("kb.sql") for s in spans] == [WITHHELD, None] and secrets_in(
        render(spans)
    ) == []


def test_an_answer_made_in_a_thread_that_cited_a_restricted_source_is_restricted(
    restricted_settings, make_deps, redis_client, redis_prefix
):
    """Its own sources may be public, but the rewrite and the model read the thread's earlier turns."""
    deps = make_deps(restricted_settings.replace(answer_cache=False, faq_match=2.0))
    agent = Agent(deps)
    salary = agent.answer("What are the salary bands for engineers?", "CHR:9", HR)
    after = agent.answer(PUBLIC, "CHR:9", HR)
    alone = agent.answer(PUBLIC, "CHR:10", HR)
    assert (
        salary.restricted
        and not any(p.chunk.restricted for p in after.sources)
        and not alone.restricted
    )
    assert after.restricted and deps.turns.get(after.turn_id).shown_answer == WITHHELD
    assert deps.turns.get(alone.turn_id).shown_answer == alone.text
    # Remembered with the earlier turn's audience: whoever may not read that may not read this either.
    remembered = {turn.id: turn for turn in deps.memory.recent("CHR:9")}
    assert ["channel:CHR"] in remembered[after.turn_id].audiences
    assert deps.telemetry.flush()
    traces = TraceStore(redis_client, redis_prefix)
    roots = {
        turn.turn_id: next(s for s in traces.spans(turn.turn_id) if not s["parent_id"])
        for turn in (after, alone)
    }
    assert roots[after.turn_id]["attributes"]["kb.restricted"] is True
    assert roots[alone.turn_id]["attributes"]["kb.restricted"] is False
