"""`bot`: ask the knowledge base from a terminal, chat with it, or serve it on Slack; `bot eval`
(bot/cli/eval_commands.py) measures it, and the operations commands run in bot/cli/ops_commands.py.

User-facing error text lives here (and in the Slack edge), nowhere deeper.

Each command imports what it runs inside its own function: the chain pulls in torch, the
embedding model and guardrails (several seconds), which `bot --help`, a mistyped option and the
commands that only read Redis should not wait for.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from bot import service
from bot.chain.answer_json import AskResult, answer_json
from bot.cli import key_commands as cli_keys
from bot.cli import ops_commands as cli_ops
from bot.cli.eval_commands import eval_command
from bot.cli.mcp_commands import mcp as mcp_command
from bot.cli.ops_commands import asker_of, asker_options, fail
from bot.cli.session import with_agent
from bot.cli.verified_commands import verified
from bot.errors import BotError
from knowledge.access import PUBLIC, Asker
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

if (
    TYPE_CHECKING
):  # the agent and its clients load models: only the commands that answer import them
    pass


@click.group(
    name="bot",
    help="The company knowledge assistant.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def commands() -> None:
    pass


def main(argv: list[str] | None = None) -> int:
    """`bot` (the console script) and what the tests call: the exit code is returned, and a usage
    error exits with 2 after printing the usage, as argparse did."""
    try:
        return commands.main(args=argv, prog_name="bot", standalone_mode=False) or 0
    except click.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except click.Abort:
        raise SystemExit(1) from None


@commands.command(help="Answer one question (or JSON lines from stdin with --jsonl).")
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option(
    "--jsonl",
    is_flag=True,
    help='read {"id", "question", "thread"} lines from stdin, write one JSON answer per line',
)
@click.option("--thread", help="thread id: the turn is remembered and follow-ups use it")
@asker_options
def ask(question: str | None, as_json: bool, jsonl: bool, thread: str | None, **who) -> int:
    if bool(question) == jsonl:
        raise click.UsageError("ask takes a question, or --jsonl and questions on stdin")
    asker = asker_of(**who)
    if jsonl:
        return with_agent(lambda agent, deps: ask_jsonl(agent, sys.stdin, sys.stdout, asker))
    return with_agent(
        lambda agent, deps: ask_one(
            agent, question, thread or f"cli:{uuid.uuid4()}", as_json, asker
        )
    )


@commands.command(help="Interactive chat with memory.")
@asker_options
def chat(**who) -> int:
    return with_agent(lambda agent, deps: chat_loop(agent, sys.stdin, sys.stdout, asker_of(**who)))


@commands.command(
    help="Run the Slack app and the HTTP API: Socket Mode with SLACK_APP_TOKEN, else HTTP on --port."
)
@click.option("--http", is_flag=True, help="serve HTTP even when SLACK_APP_TOKEN is set")
@click.option("--port", type=int, default=3000, show_default=True, help="HTTP port")
@click.option(
    "--sync-sources",
    is_flag=True,
    help="also run sources.yaml on its schedule (one run at a time across workers, like `ingest sync --watch`)",
)
def serve(http: bool, port: int, sync_sources: bool) -> int:
    from bot.web.serving import serve as serve_app

    def run(agent, deps) -> int:
        schedule = None
        if sync_sources:
            from ingest.pipeline import Pipeline
            from ingest.sync.commands import start_schedule
            from knowledge.embeddings import SERVING_BATCH
            from knowledge.sparse import SparseEncoder

            schedule = start_schedule(
                deps.settings.ingest,
                Pipeline(deps.store, deps.embedder.batched(SERVING_BATCH), SparseEncoder()),
            )
        try:
            return serve_app(deps, agent, http=http, port=port)
        finally:
            if schedule is not None:  # no new run starts while the process winds down
                schedule.set()

    return with_agent(run, metrics=True)


@commands.command(help="Show the model cascade: endpoints, prices, budgets and token counting.")
def tiers() -> int:
    return show_tiers()


@commands.command(
    help="How one answer was made: its trace, step by step. TURN is the turn id "
    "(turn_id in `ask --json`, or its first 6+ characters)."
)
@click.argument("turn")
@click.option("--json", "as_json", is_flag=True, help='print {"turn_id", "spans": [...]} nested')
def trace(turn: str, as_json: bool) -> int:
    return cli_ops.show_trace(turn, as_json)


@commands.command(help="Answers, feedback, cost, variants and unanswered questions.")
@click.option(
    "--days", type=int, default=7, show_default=True, help="the last N days, today included"
)
@click.option("--json", "as_json", is_flag=True, help="print the report as one JSON object")
@click.option(
    "--html",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="also write it as a page with charts",
)
def report(days: int, as_json: bool, html: Path | None) -> int:
    return cli_ops.report(days, as_json, html)


commands.add_command(eval_command)
commands.add_command(cli_keys.keys)
commands.add_command(mcp_command)
commands.add_command(verified)


def show_tiers() -> int:
    from bot.chain.prompt import encoding_note
    from bot.settings import load_settings

    try:
        settings = load_settings()
        tiers = settings.tiers
    except KnowledgeError as error:
        return fail(error)
    print("Always first: the FAQ fast path and the answer cache (free).")
    if not tiers:
        print(
            "No model tiers: answers are extractive. Set LLM_TIERS, OPENAI_BASE_URL or OPENAI_API_KEY."
        )
    for number, tier in enumerate(tiers, start=1):
        where = f"local {tier.gguf}" if tier.local else (tier.base_url or "OpenAI")
        print(
            f"{number}. {tier.name}: {tier.model} at {where}; USD {tier.price_input_per_1k}/"
            f"{tier.price_output_per_1k} per 1k tokens in/out; prompt <= {tier.prompt_budget_tokens} tokens, "
            f"<= {tier.max_passages} passages; escalates below confidence {tier.min_confidence} or when the "
            f"guards fail after {tier.max_reasks} re-ask(s); tokens: {encoding_note(tier.model)}"
        )
        if not tier.local:
            print(f"   {circuit_of(tier, settings)}")
    return 0


def circuit_of(tier, settings) -> str:
    """The tier's circuit as every worker sees it (it is kept in Redis)."""
    from bot.chain.thread_memory import connect, without_password
    from bot.deps import breaker_for

    retries = f"{tier.max_retries} retries honouring Retry-After, then"
    try:
        client = connect(settings.redis_url)
    except BotError:
        return f"{retries} circuit state unknown: Redis at {without_password(settings.redis_url)} is unreachable"
    try:
        state = breaker_for(tier, client, settings.redis_prefix).state().describe()
    finally:
        client.close()
    return f"{retries} {state} (opens after {tier.breaker_failures} failures for {tier.breaker_cooldown_s:.0f}s)"


def ask_one(agent, question: str, thread_id: str, as_json: bool, asker: Asker = PUBLIC) -> int:
    answer = agent.answer(question, thread_id, asker)
    print(json.dumps(answer_json(answer), ensure_ascii=False) if as_json else render(answer))
    return 0


def ask_jsonl(agent, lines: TextIO, out: TextIO, asker: Asker = PUBLIC) -> int:
    """One JSON answer per input line; a bad line gets an error object, never a crash."""
    if agent.deps.store.count() == 0:  # say once how to fill it, not once per line
        raise EmptyKnowledgeBase(f"The collection {agent.deps.store.alias!r} holds no documents.")
    for number, request in enumerate(_requests(lines), start=1):
        if "error" in request:
            _write_line(
                out,
                AskResult.unreadable(
                    request.get("id"), f"line {number}: {request['error']}"
                ).as_json(),
            )
            continue
        thread, line_id = request.get("thread") or f"eval:{uuid.uuid4()}", request.get("id")
        # The line goes out before the turn is written to Redis: the asker does not wait for that.
        # Through service.ask(): a request that cannot be answered gets its error line and the run goes on.
        result = service.ask(
            agent,
            request["question"],
            str(thread),
            asker,
            reply=lambda answer, line_id=line_id: _write_line(out, answer_json(answer, line_id)),
        )
        if isinstance(result, service.Failure):
            _write_line(out, AskResult.unreadable(line_id, result.message).as_json())
    return 0


def _write_line(out: TextIO, record: dict) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()


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
            yield {
                "id": request.get("id") if isinstance(request, dict) else None,
                "error": 'expected an object with a "question" string',
            }
            continue
        yield request


def chat_loop(agent, lines: TextIO, out: TextIO, asker: Asker = PUBLIC) -> int:
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
            out.write(render(agent.answer(line, thread_id, asker)) + "\n\n")


def render(answer) -> str:
    return answer.as_text()


if __name__ == "__main__":
    sys.exit(main())
