"""`bot eval answers`: the whole chain (guards, retrieval, the cascade, validation) over a file of
cases, scored answer by answer.

A case is one JSON line: `{"question", "expected_sources"?, "should_refuse"?}`. `expected_sources`
names what a right answer cites: passage ids, document ids, links, titles or FAQ questions (any
one of them counts). `should_refuse` says whether the knowledge base must decline. A retrieval
dataset's line (`{"question", "relevant", "half"?}`, knowledge/eval/ko.jsonl) is a case that must
be answered from `relevant`; off-topic questions (`--negatives`) are cases that must be refused.
A case from `bot eval export-feedback` also carries the answer that was rated (`answer_given`),
so a run says which of those answers have changed.

Figures: expected source cited (anywhere, and as the first source), correct refusals (missed and
false ones), answers shown with a sentence the grounding check rejects, guard failures (model
drafts the output guards rejected), which tier answered, cost and latency. A run never touches the deployment's
state: its turns, usage and memory go under a prefix of their own that is deleted afterwards,
the answer cache is off (a cached answer would measure the cache) and no trace is kept.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from bot.chain.agent import Agent
from bot.chain.answer import Answer
from bot.chain.prompt_variants import PromptText, Variants
from bot.deps import build_deps
from bot.ops.evals.data import in_half, json_lines, percentiles
from bot.ops.evals.retrieval import is_relevant
from bot.settings import Settings
from guards.grounding import unsupported_sentences
from knowledge.access import Asker

CASE_FIELDS = (
    '{"question": "...", "expected_sources": ["title, id or link", ...], "should_refuse": false}'
)


def read_cases(path: Path, half: str = "all") -> list[dict]:
    """The cases of a JSON lines file (those of `half` where lines have one); a bad line is an
    error naming the line and the fix."""
    cases = []
    for number, case in json_lines(path, CASE_FIELDS):
        where = f"{path}:{number}"
        if (
            not isinstance(case, dict)
            or not isinstance(case.get("question"), str)
            or not case["question"].strip()
        ):
            raise ValueError(f"{where}: expected an object with a question: {CASE_FIELDS}")
        if not in_half(case, half):
            continue
        if "relevant" in case and "expected_sources" not in case:  # a retrieval dataset's line
            case = {**case, "expected_sources": case["relevant"], "should_refuse": False}
        expected = case.get("expected_sources")
        if expected is not None and not (
            isinstance(expected, list) and all(isinstance(e, str) for e in expected)
        ):
            raise ValueError(
                f"{where}: expected_sources must be a list of strings (titles, ids or links) or null"
            )
        if case.get("should_refuse") not in (None, True, False):
            raise ValueError(f"{where}: should_refuse must be true, false or null")
        cases.append(case)
    if not cases:
        raise ValueError(f"{path}: no cases; each line is {CASE_FIELDS}")
    return cases


def refusal_cases(questions: list[str]) -> list[dict]:
    """Off-topic questions: each must be refused."""
    return [
        {"question": question, "expected_sources": None, "should_refuse": True}
        for question in questions
    ]


def isolated(settings: Settings) -> Settings:
    """The deployment's settings, with the run's own Redis prefix, no answer cache and no traces."""
    return settings.replace(
        redis_prefix=f"{settings.redis_prefix}eval:{uuid.uuid4().hex[:12]}:",
        answer_cache=False,
        trace_keep=0,
        otel_exporter_otlp_endpoint="",
        otel_exporter_otlp_traces_endpoint="",
    )


def evaluate(
    settings: Settings, prompts: list[PromptText], cases: list[dict], embedder=None
) -> list[dict]:
    """Each prompt's run over the cases, the models loaded once."""
    settings = isolated(settings)
    deps = build_deps(settings, embedder=embedder)
    try:
        agent = Agent(deps)
        agent.answer(
            cases[0]["question"]
        )  # untimed: the first answer pays for lazy imports and warm-up
        runs = []
        for prompt in prompts:
            deps.variants = Variants([(prompt, 1)], deps.variants.rewrite)
            deps.embedder.clear_cache()  # each run embeds its questions afresh, or the first pays for all
            runs.append(run(agent, prompt, cases))
        return runs
    finally:
        keys = list(deps.redis.scan_iter(f"{settings.redis_prefix}*", count=1000))
        if keys:
            deps.redis.delete(*keys)
        deps.close()


def run(agent, prompt: PromptText, cases: list[dict]) -> dict:
    rows = [score(case, agent.answer(case["question"], asker=asker_of(case))) for case in cases]
    return {
        "variant": prompt.name,
        "prompt_version": prompt.version,
        "figures": summarise(rows),
        "cases": rows,
    }


def asker_of(case: dict) -> Asker:
    """A case is asked where it was (an exported 👎 keeps its channel), with what anyone there may
    see; a case without a channel sees `everyone` documents only."""
    channel = case.get("channel") or ""
    return Asker(channel=channel, direct=channel.startswith("D"))


def score(case: dict, answer: Answer) -> dict:
    expected = case.get("expected_sources") or None
    should_refuse = case.get("should_refuse")
    cited = (
        [] if answer.refused else answer.sources
    )  # a refusal lists the closest sources; it cites none
    ungrounded = (
        []
        if answer.refused or answer.mode != "llm"
        else unsupported_sentences(model_text(answer.text), [p.chunk.text for p in answer.sources])
    )
    row = {
        "question": case["question"],
        "refused": answer.refused,
        "reason": answer.reason,
        "mode": answer.mode,
        "tier": answer.usage.tier if answer.usage else answer.mode,
        "answer": answer.text,
        "sources": [p.chunk.title for p in cited],
        "expected_sources": expected,
        "cited_expected": None
        if expected is None
        else any(is_relevant(p, expected) for p in cited),
        "first_cited_expected": None
        if expected is None
        else bool(cited) and is_relevant(cited[0], expected),
        "ungrounded": ungrounded,
        "should_refuse": should_refuse,
        "refusal_correct": None if should_refuse is None else answer.refused == should_refuse,
        "guard_failures": answer.guard_failures,
        "cost_usd": answer.usage.cost_usd if answer.usage else 0.0,
        "latency_ms": round(answer.latency_ms, 1),
    }
    if "answer_given" in case:
        row["changed"] = answer.text != case["answer_given"]
    return row


def model_text(shown: str) -> str:
    """The model's words of a shown answer, without the disclaimers the business rules append
    (paragraphs in _italics_, bot/chain/agent.py): those are ours, not claims from the passages."""
    return "\n\n".join(
        p for p in shown.split("\n\n") if not (p.startswith("_") and p.endswith("_"))
    )


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarise(rows: list[dict]) -> dict:
    judged = [r for r in rows if r["cited_expected"] is not None]
    refusals = [r for r in rows if r["should_refuse"] is not None]
    answered = [r for r in rows if not r["refused"]]
    failures = sum(r["guard_failures"] for r in rows)
    cost = sum(r["cost_usd"] for r in rows)
    rated = [r for r in rows if "changed" in r]
    return {
        "cases": len(rows),
        "answered": len(answered),
        "refused": len(rows) - len(answered),
        "by_reason": dict(Counter(r["reason"] for r in rows if r["refused"]).most_common()),
        "by_mode": dict(Counter(r["mode"] for r in rows).most_common()),
        "cited_cases": len(judged),
        "cited_expected": sum(r["cited_expected"] for r in judged),
        "cited_rate": ratio(sum(r["cited_expected"] for r in judged), len(judged)),
        "first_cited_expected": sum(r["first_cited_expected"] for r in judged),
        "first_cited_rate": ratio(sum(r["first_cited_expected"] for r in judged), len(judged)),
        "by_tier": dict(Counter(r["tier"] for r in answered).most_common()),
        "ungrounded_shown": sum(bool(r["ungrounded"]) for r in rows),
        "refusal_cases": len(refusals),
        "refusals_correct": sum(r["refusal_correct"] for r in refusals),
        "refusal_accuracy": ratio(sum(r["refusal_correct"] for r in refusals), len(refusals)),
        "missed_refusals": sum(r["should_refuse"] and not r["refused"] for r in refusals),
        "false_refusals": sum(not r["should_refuse"] and r["refused"] for r in refusals),
        "guard_failures": failures,
        "guard_failures_per_answer": ratio(failures, len(rows)),
        "cost_usd": round(cost, 6),
        "cost_per_answer_usd": round(cost / len(rows), 6) if rows else None,
        **percentiles([r["latency_ms"] for r in rows]),
        "rated_cases": len(rated),
        "changed": sum(r["changed"] for r in rated),
    }


def describe(figures: dict) -> list[str]:
    """The figures of one run, one line each, for people."""

    def share(part: int, whole: int) -> str:
        return f"{part}/{whole} ({part / whole:.0%})" if whole else "no cases say"

    lines = [
        f"cases              {figures['cases']}: answered {figures['answered']}, refused {figures['refused']}"
        + (
            f" ({', '.join(f'{k} {v}' for k, v in figures['by_reason'].items())})"
            if figures["by_reason"]
            else ""
        ),
        f"by mode            {', '.join(f'{k} {v}' for k, v in figures['by_mode'].items())}",
        f"expected source    {share(figures['cited_expected'], figures['cited_cases'])} cited, "
        f"{share(figures['first_cited_expected'], figures['cited_cases'])} as the first source",
        f"answered by        {', '.join(f'{k} {v}' for k, v in figures['by_tier'].items()) or 'none'}",
        f"ungrounded shown   {figures['ungrounded_shown']} answers with a sentence the grounding check rejects",
        f"refusals correct   {share(figures['refusals_correct'], figures['refusal_cases'])}; "
        f"missed {figures['missed_refusals']}, false {figures['false_refusals']}",
        f"guard failures     {figures['guard_failures']} ({figures['guard_failures_per_answer'] or 0:.2f} per answer)",
        f"cost               ${figures['cost_usd']:.6f} (${figures['cost_per_answer_usd'] or 0:.6f} per answer)",
        f"latency            p50 {figures['p50_ms']:,.0f} ms, p95 {figures['p95_ms']:,.0f} ms",
    ]
    if figures["rated_cases"]:
        lines.append(
            f"rated answers      {figures['changed']} of {figures['rated_cases']} now answered differently"
        )
    return lines


def render(result: dict) -> str:
    lines = [f"{result['variant']} ({result['prompt_version']})", *describe(result["figures"])]
    misses = [
        r for r in result["cases"] if r["cited_expected"] is False or r["refusal_correct"] is False
    ]
    if misses:
        lines += ["", "Cases it got wrong:"]
        for row in misses:
            got = (
                f"refused ({row['reason']})"
                if row["refused"]
                else f"cited {', '.join(row['sources']) or 'nothing'}"
            )
            wanted = (
                "a refusal"
                if row["should_refuse"]
                else ", ".join(row["expected_sources"] or ["an answer"])
            )
            lines.append(f"  {row['question']!r}: {got}; wanted {wanted}")
    return "\n".join(lines)
