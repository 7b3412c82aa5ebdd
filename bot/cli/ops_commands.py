"""The operations commands of `bot` (bot/cli/commands.py parses them): `trace`, `report`, and `eval
export-feedback`, `eval answers` and `eval compare`. Like cli.py, an edge: it loads what a
command needs, prints, and turns errors into messages and exit codes (0 ok, 1 the candidate
regresses, 2 a set-up problem or bad input).

Each command imports what it runs inside its own function: the chain pulls in torch, the
embedding model and guardrails (several seconds), which `bot --help`, a mistyped option and the
commands that only read Redis should not wait for.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.chain.turn_log import TURN_TTL_S
from bot.errors import BotError
from knowledge.access import Asker
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

KEPT_DAYS = TURN_TTL_S // 86400
EMPTY_KB_HELP = (
    "The knowledge base is empty. Fill it with `ingest PATH...` (try: ingest knowledge/sample)."
)


def fail(message: object) -> int:
    """A set-up problem or bad input, said on stderr as `bot: ...` (what to fix): exit code 2.
    Every `bot` command's own errors go through here."""
    print(f"bot: {message}", file=sys.stderr)
    return 2


def asker_options(command):
    """`--user`, `--channel` and `--all`: who a command asks as (`bot ask`, `chat`, `eval`)."""
    command = click.option(
        "--all",
        "everything",
        is_flag=True,
        help="see every document, whatever its audience (admins); default: `everyone` documents only",
    )(command)
    command = click.option(
        "--channel", default="", help="ask in this Slack channel id (its documents and scope)"
    )(command)
    return click.option(
        "--user", default="", help="ask as this Slack user id (sees what they may see)"
    )(command)


def asker_of(user: str, channel: str, everything: bool) -> Asker:
    """With neither --user nor --channel, the command line sees `everyone` documents only."""
    return Asker(user=user, channel=channel, everything=everything)


def show_trace(turn: str, as_json: bool) -> int:
    """Reads Redis only: no model is loaded to explain an answer."""
    from bot.chain.thread_memory import connect
    from bot.ops.traceview import TraceStore, render, tree
    from bot.settings import load_settings

    try:
        settings = load_settings()
        traces = TraceStore(connect(settings.redis_url), settings.redis_prefix)
        turn_id = traces.resolve(turn)
        spans = traces.spans(turn_id)
    except (BotError, KnowledgeError) as error:
        return fail(error)
    print(
        json.dumps({"turn_id": turn_id, "spans": tree(spans)}, ensure_ascii=False)
        if as_json
        else render(spans)
    )
    return 0


def turn_log():
    """Reads Redis only: reports and exports load no model and leave the store to `bot serve`."""
    from bot.chain.thread_memory import connect
    from bot.chain.turn_log import TurnLog
    from bot.settings import load_settings

    settings = load_settings()
    return TurnLog(connect(settings.redis_url), settings.redis_prefix)


def report(days: int, as_json: bool, html: Path | None) -> int:
    from bot.ops.loop_report import loop_from_settings
    from bot.ops.report import build
    from bot.ops.report_html import render_html
    from bot.ops.report_text import render_text
    from bot.settings import load_settings

    if not 1 <= days <= KEPT_DAYS:
        return fail(f"--days takes 1 to {KEPT_DAYS} (answers are kept {KEPT_DAYS} days)")
    try:
        built = build(turn_log(), days, embed_questions)
        built["loop"] = loop_from_settings(load_settings())
    except (BotError, KnowledgeError) as error:
        return fail(error)
    if html is not None:
        try:
            html.write_text(render_html(built), encoding="utf-8")
        except OSError as error:
            return fail(f"cannot write {html}: {error.strerror}")
        print(f"bot: wrote {html}", file=sys.stderr)
    print(json.dumps(built, ensure_ascii=False) if as_json else render_text(built))
    return 0


def embed_questions(texts):
    """The embedding model is loaded only when there are unanswered questions to group."""
    from bot.settings import load_settings
    from knowledge.embeddings import Embedder

    return Embedder(load_settings().knowledge.embedding_threads).embed_questions(texts)


def evaluate(args) -> int:
    """`eval export-feedback`, `answers`, `compare` and `gaps`, as parsed by bot/cli/commands.py."""
    if args.target == "export-feedback":
        return export_feedback(args.rating, args.days)
    if args.target == "tables":
        return tables(args.json)
    if len(args.dataset or []) > 1:
        return fail(f"eval {args.target} takes one --dataset")
    if args.target == "gaps":
        return gap_grouping(args.dataset[0] if args.dataset else None, args.json)
    compared = args.target == "compare"
    return answers(
        args.dataset[0],
        [args.baseline, args.candidate] if compared else [args.variant],
        args.json,
        args.tolerance if compared else None,
        args.half,
        args.negatives,
    )


def tables(as_json: bool) -> int:
    from bot.ops.evals.tables import eval_tables, render_tables
    from bot.settings import load_settings
    from knowledge.embeddings import Embedder

    settings = load_settings()
    figures = eval_tables(Embedder(settings.knowledge.embedding_threads), settings)
    print(json.dumps(figures, ensure_ascii=False) if as_json else render_tables(figures))
    return 0


def export_feedback(rating: str | None, days: int) -> int:
    from bot.chain.turn_log import last_days
    from bot.ops.evals.feedback import cases

    if not 1 <= days <= KEPT_DAYS:
        return fail(f"--days takes 1 to {KEPT_DAYS} (answers are kept {KEPT_DAYS} days)")
    try:
        rated = turn_log().rated_turns(last_days(days))
    except (BotError, KnowledgeError) as error:
        return fail(error)
    for case in cases(rated, rating):
        print(json.dumps(case, ensure_ascii=False))
    return 0


def answers(
    dataset: Path,
    variants: list[str | None],
    as_json: bool,
    tolerance: float | None = None,
    half: str = "all",
    negatives: tuple[Path, ...] = (),
) -> int:
    """`eval answers` with one variant (None: the one with the largest share of PROMPT_VARIANTS),
    `eval compare` with two (baseline, candidate); `negatives` hold questions to refuse."""
    from bot.chain.prompt_variants import prompt_named
    from bot.ops.evals import answers as evals
    from bot.ops.evals import compare
    from bot.ops.evals.data import read_questions
    from bot.settings import load_settings

    try:
        cases = evals.read_cases(dataset, half)
        cases += evals.refusal_cases([q for path in negatives for q in read_questions(path, half)])
        settings = load_settings()
        main = max(settings.prompt_variants, key=lambda share: share[1])[0]
        prompts = [prompt_named(name or main) for name in variants]
        runs = evals.evaluate(settings, prompts, cases)
    except OSError as error:
        return fail(f"cannot read {dataset}: {error.strerror}")
    except ValueError as error:
        return fail(error)
    except EmptyKnowledgeBase:
        return fail(EMPTY_KB_HELP)
    except (BotError, KnowledgeError) as error:
        return fail(error)
    if tolerance is None:
        [result] = runs
        print(json.dumps(result, ensure_ascii=False) if as_json else evals.render(result))
        return 0
    comparison = compare.compare(*runs, tolerance=tolerance)
    print(json.dumps(comparison, ensure_ascii=False) if as_json else compare.render(comparison))
    return 0 if comparison["passed"] else 1


def gap_grouping(dataset: Path | None, as_json: bool) -> int:
    from bot.ops.evals.gaps import DEFAULT_DATASET, eval_gaps, read_needs, render_gaps

    try:
        pairs = read_needs(dataset or DEFAULT_DATASET)
    except OSError as error:
        return fail(f"cannot read {dataset or DEFAULT_DATASET}: {error.strerror}")
    except ValueError as error:
        return fail(error)
    figures = eval_gaps(pairs, embed_questions)
    print(json.dumps(figures, ensure_ascii=False) if as_json else render_gaps(figures))
    return 0
