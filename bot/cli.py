"""`bot`: ask the knowledge base from a terminal, chat with it, or serve it on Slack.

User-facing error text lives here (and in the Slack edge), nowhere deeper.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from bot import cli_keys, cli_ops
from bot.cli_ops import EMPTY_KB_HELP
from bot.errors import BotError
from guards.errors import GuardError
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot", description="The company knowledge assistant.")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer one question (or JSON lines from stdin with --jsonl)")
    ask.add_argument("question", nargs="?", help="the question; omit with --jsonl")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true",
                     help='read {"id", "question", "thread"} lines from stdin, write one JSON answer per line')
    ask.add_argument("--thread", help="thread id: the turn is remembered and follow-ups use it")
    commands.add_parser("chat", help="interactive chat with memory")
    evaluate = commands.add_parser(
        "eval", help="measure the bot on evaluation data",
        description="guards: the input guard on ../shared/eval. retrieval: recall@1/5/10, MRR and latency of "
                    "hybrid, dense and sparse search on --dataset. calibrate: MIN_RELEVANCE and FAQ_MATCH from "
                    "--dataset. covid-dataset: write the COVID paraphrase dataset (the recipe) as JSON lines. "
                    "cache: semantic cache hit rate and precision on the COVID paraphrase pairs. export-feedback: "
                    "each rated answer as a case. answers: the whole chain over --dataset cases, scored. compare: "
                    "--baseline and --candidate over them; exits 1 when the candidate regresses. gaps: how the "
                    "report groups unanswered questions, on labelled wordings. tables: answers from tables with "
                    "scripted SQL, and hostile SQL rejected.")
    evaluate.add_argument("target", choices=["guards", "retrieval", "calibrate", "covid-dataset", "cache",
                                             "export-feedback", "answers", "compare", "gaps", "tables"])
    evaluate.add_argument("--dataset", type=Path, action="append",
                          help='JSON lines {"question", "relevant": [...], "half"?}, repeatable (figures per language); '
                               'answers and compare: one file of {"question", "expected_sources"?, "should_refuse"?}')
    evaluate.add_argument("--negatives", type=Path, action="append",
                          help="calibrate: questions to refuse, one a line, repeatable (default: the sample FAQ's "
                               "questions, 200 MITRE prompts, the Korean off-topic questions in knowledge/eval)")
    evaluate.add_argument("--half", choices=["all", "calibration", "test"], default="all",
                          help="covid-dataset: which half of the FAQs; retrieval, calibrate: lines of that `half`")
    evaluate.add_argument("--data", type=Path, help="the evaluation data folder (default: ../shared/eval)")
    evaluate.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    evaluate.add_argument("--rating", choices=["up", "down"], help="export-feedback: only answers rated so")
    evaluate.add_argument("--days", type=int, default=30, help="export-feedback: the last N days (default 30)")
    evaluate.add_argument("--variant", help="answers: the prompt (name in bot/prompts or a .txt path; "
                                            "default: PROMPT_VARIANTS' largest share)")
    evaluate.add_argument("--baseline", help="compare: the prompt to compare against")
    evaluate.add_argument("--candidate", help="compare: the prompt that must not regress")
    evaluate.add_argument("--tolerance", type=float, default=0.05,
                          help="compare: how much lower a rate may be (default 0.05; cost per answer: 25%%)")
    commands.add_parser("tiers", help="show the model cascade: endpoints, prices, budgets and token counting")
    trace = commands.add_parser("trace", help="how one answer was made: its trace, step by step")
    trace.add_argument("turn", help="the turn id (turn_id in `ask --json`, or its first 6+ characters)")
    trace.add_argument("--json", action="store_true", help='print {"turn_id", "spans": [...]} nested')
    report = commands.add_parser("report", help="answers, feedback, cost, variants and unanswered questions")
    report.add_argument("--days", type=int, default=7, help="the last N days, today included (default 7)")
    report.add_argument("--json", action="store_true", help="print the report as one JSON object")
    report.add_argument("--html", type=Path, metavar="FILE", help="also write it as a page with charts")
    cli_keys.add_parser(commands)
    serve = commands.add_parser("serve", help="run the Slack app and the HTTP API")
    serve.add_argument("--http", action="store_true", help="serve HTTP even when SLACK_APP_TOKEN is set")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    args = parser.parse_args(argv)
    if args.command == "ask" and bool(args.question) == args.jsonl:
        parser.error("ask takes a question, or --jsonl and questions on stdin")
    if args.command == "eval" and args.target in ("retrieval", "calibrate") and not args.dataset:
        parser.error(f"eval {args.target} needs --dataset FILE.jsonl (make one with `bot eval covid-dataset`)")
    if args.command == "eval" and args.target in ("answers", "compare") and not args.dataset:
        parser.error(f"eval {args.target} needs --dataset FILE.jsonl of cases (`bot eval export-feedback` makes some)")
    if args.command == "eval" and args.target == "compare" and not (args.baseline and args.candidate):
        parser.error("eval compare needs --baseline PROMPT and --candidate PROMPT (e.g. answer-v1 and answer-v2)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "eval":
        return evaluate(args)
    if args.command == "tiers":
        return show_tiers()
    if args.command == "trace":
        return cli_ops.show_trace(args.turn, args.json)
    if args.command == "report":
        return cli_ops.report(args.days, args.json, args.html)
    if args.command == "keys":
        return cli_keys.run(args)
    from bot.agent import Agent
    from bot.deps import build_deps
    from bot.settings import load_settings

    try:
        deps = build_deps(load_settings(), metrics=args.command == "serve")
    except (BotError, KnowledgeError, GuardError) as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    try:
        agent = Agent(deps)
        if args.command == "ask" and args.jsonl:
            return ask_jsonl(agent, sys.stdin, sys.stdout)
        if args.command == "ask":
            return ask_one(agent, args.question, args.thread or f"cli:{uuid.uuid4()}", args.json)
        if args.command == "chat":
            return chat(agent, sys.stdin, sys.stdout)
        from bot.serving import serve

        return serve(deps, agent, http=args.http, port=args.port)
    except EmptyKnowledgeBase:
        print(f"bot: {EMPTY_KB_HELP}", file=sys.stderr)
        return 2
    except (BotError, KnowledgeError) as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    finally:
        deps.close()


def show_tiers() -> int:
    from bot.prompt import encoding_note
    from bot.settings import load_settings

    try:
        settings = load_settings()
        tiers = settings.tiers
    except KnowledgeError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    print("Always first: the FAQ fast path and the answer cache (free).")
    if not tiers:
        print("No model tiers: answers are extractive. Set LLM_TIERS, OPENAI_BASE_URL or OPENAI_API_KEY.")
    for number, tier in enumerate(tiers, start=1):
        where = f"local {tier.gguf}" if tier.local else (tier.base_url or "OpenAI")
        print(f"{number}. {tier.name}: {tier.model} at {where}; USD {tier.price_input_per_1k}/"
              f"{tier.price_output_per_1k} per 1k tokens in/out; prompt <= {tier.prompt_budget_tokens} tokens, "
              f"<= {tier.max_passages} passages; escalates below confidence {tier.min_confidence} or when the "
              f"guards fail after {tier.max_reasks} re-ask(s); tokens: {encoding_note(tier.model)}")
        if not tier.local:
            print(f"   {circuit_of(tier, settings)}")
    return 0


def circuit_of(tier, settings) -> str:
    """The tier's circuit as every worker sees it (it is kept in Redis)."""
    from bot.deps import breaker_for
    from bot.memory import connect

    retries = f"{tier.max_retries} retries honouring Retry-After, then"
    try:
        client = connect(settings.redis_url)
    except BotError:
        return f"{retries} circuit state unknown: Redis at {settings.redis_url} is unreachable"
    try:
        state = breaker_for(tier, client, settings.redis_prefix).state().describe()
    finally:
        client.close()
    return f"{retries} {state} (opens after {tier.breaker_failures} failures for {tier.breaker_cooldown_s:.0f}s)"


def evaluate(args: argparse.Namespace) -> int:
    from bot.evals import data as eval_data

    if args.target in ("export-feedback", "answers", "compare", "gaps", "tables"):
        return cli_ops.evaluate(args)
    data = args.data or eval_data.DEFAULT_DATA
    if args.target in ("guards", "covid-dataset", "cache") and not data.is_dir():
        print(f"bot: no evaluation data at {data}; pass --data DIR", file=sys.stderr)
        return 2
    if args.target == "covid-dataset":
        print("\n".join(json.dumps(line, ensure_ascii=False) for line in eval_data.covid_dataset(data, args.half)))
        return 0
    from knowledge.embeddings import Embedder

    if args.target in ("guards", "cache"):
        if args.target == "guards":
            from bot.evals.guards import eval_guards, render_guards

            figures = eval_guards(data, Embedder())
            text = render_guards(figures)
        else:
            from bot.evals.cache import eval_cache
            from bot.settings import load_settings

            figures = eval_cache(data, Embedder(), load_settings().semantic_cache_match)
            text = json.dumps(figures, indent=2)
        print(json.dumps(figures, ensure_ascii=False) if args.json else text)
        return 0
    try:
        dataset = [line for path in args.dataset for line in eval_data.read_dataset(path, args.half)]
        negatives = ([q for path in args.negatives for q in eval_data.read_questions(path, args.half)]
                     if args.negatives else eval_data.default_negatives(data, args.half))
    except (OSError, ValueError) as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    return evaluate_on_store(args, dataset, negatives)


def evaluate_on_store(args: argparse.Namespace, dataset: list[dict], negatives: list[str]) -> int:
    from bot.evals.calibrate import calibrate, render_calibration
    from bot.evals.retrieval import eval_retrieval, render_retrieval
    from knowledge.embeddings import Embedder
    from knowledge.retrieval import Retriever
    from bot.settings import load_settings
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    settings = load_settings()
    try:
        store = Store.open(settings.knowledge)
    except KnowledgeError as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    try:
        retriever = Retriever(store, Embedder(), SparseEncoder())
        if args.target == "retrieval":
            figures = eval_retrieval(retriever, dataset)
            text = render_retrieval(figures)
        else:
            figures = calibrate(retriever, dataset, negatives, settings)
            text = render_calibration(figures)
    except EmptyKnowledgeBase:
        print(f"bot: {EMPTY_KB_HELP}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(json.dumps(figures, ensure_ascii=False) if args.json else text)
    return 0


def ask_one(agent, question: str, thread_id: str, as_json: bool) -> int:
    answer = agent.answer(question, thread_id)
    print(json.dumps(answer.as_dict(), ensure_ascii=False) if as_json else render(answer))
    return 0


def ask_jsonl(agent, lines: TextIO, out: TextIO) -> int:
    """One JSON answer per input line; a bad line gets an error object, never a crash."""
    from bot.schema import AskResult

    for number, request in enumerate(_requests(lines), start=1):
        if "error" in request:
            record = AskResult.unreadable(request.get("id"), f"line {number}: {request['error']}").as_json()
        else:
            thread = request.get("thread") or f"eval:{uuid.uuid4()}"
            record = agent.answer(request["question"], str(thread)).as_dict(request.get("id"))
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def _requests(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as error:
            yield {"error": f"not JSON ({error.msg})"}
            continue
        if not isinstance(request, dict) or not isinstance(request.get("question"), str):
            yield {"id": request.get("id") if isinstance(request, dict) else None,
                   "error": 'expected an object with a "question" string'}
            continue
        yield request


def chat(agent, lines: TextIO, out: TextIO) -> int:
    thread_id = f"chat:{uuid.uuid4()}"
    out.write("Ask a question (Ctrl-D to quit).\n")
    while True:
        out.write("> ")
        out.flush()
        line = lines.readline()
        if not line:
            out.write("\n")
            return 0
        if line.strip():
            out.write(render(agent.answer(line, thread_id)) + "\n\n")


def render(answer) -> str:
    return answer.as_text()

if __name__ == "__main__":
    sys.exit(main())
