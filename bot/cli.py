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

from bot.errors import BotError
from guards.errors import GuardError
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

EMPTY_KB_HELP = "The knowledge base is empty. Fill it with `ingest PATH...` (try: ingest knowledge/sample)."


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
    evaluate = commands.add_parser("eval", help="measure the bot on public evaluation data")
    evaluate.add_argument("target", choices=["guards"], help="what to measure")
    evaluate.add_argument("--data", type=Path, help="the evaluation data folder (default: ../shared/eval)")
    evaluate.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    serve = commands.add_parser("serve", help="run the Slack app")
    serve.add_argument("--http", action="store_true", help="serve HTTP even when SLACK_APP_TOKEN is set")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    args = parser.parse_args(argv)
    if args.command == "ask" and bool(args.question) == args.jsonl:
        parser.error("ask takes a question, or --jsonl and questions on stdin")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "eval":
        return evaluate(args)
    from bot.agent import Agent
    from bot.deps import build_deps
    from knowledge.settings import Settings

    try:
        deps = build_deps(Settings.from_env())
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
        from bot.slack import serve

        return serve(deps, agent, http=args.http, port=args.port)
    except EmptyKnowledgeBase:
        print(f"bot: {EMPTY_KB_HELP}", file=sys.stderr)
        return 2
    except (BotError, KnowledgeError) as error:
        print(f"bot: {error}", file=sys.stderr)
        return 2
    finally:
        deps.close()


def evaluate(args: argparse.Namespace) -> int:
    from bot import evals
    from knowledge.embeddings import Embedder

    data = args.data or evals.DEFAULT_DATA
    if not data.is_dir():
        print(f"bot: no evaluation data at {data}; pass --data DIR", file=sys.stderr)
        return 2
    figures = evals.eval_guards(data, Embedder())
    print(json.dumps(figures, ensure_ascii=False) if args.json else evals.render_guards(figures))
    return 0


def ask_one(agent, question: str, thread_id: str, as_json: bool) -> int:
    answer = agent.answer(question, thread_id)
    print(json.dumps(answer.as_dict(), ensure_ascii=False) if as_json else render(answer))
    return 0


def ask_jsonl(agent, lines: TextIO, out: TextIO) -> int:
    """One JSON answer per input line; a bad line gets an error object, never a crash."""
    for number, request in enumerate(_requests(lines), start=1):
        if "error" in request:
            record = {"id": request.get("id"), "answer": "", "refused": True, "reason": "error",
                      "mode": "extractive", "sources": [], "latency_ms": 0.0,
                      "error": f"line {number}: {request['error']}"}
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
    lines = [answer.text]
    if answer.sources:
        lines.append("")
        lines.append("Sources:" if not answer.refused else "Closest sources:")
        for number, passage in enumerate(answer.sources, start=1):
            section = f" > {passage.chunk.section}" if passage.chunk.section else ""
            lines.append(f"  [{number}] {passage.chunk.title}{section} - {passage.chunk.source}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
