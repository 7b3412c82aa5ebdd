"""`bot eval TARGET`: measure the bot on evaluation data. The targets that need the store or
the embedding model run here; the answer-level ones (`export-feedback`, `answers`, `compare`,
`gaps`) in bot/cli/ops_commands.py.

Each command imports what it runs inside its own function: the chain pulls in torch, the
embedding model and guardrails (several seconds), which `bot --help`, a mistyped option and the
commands that only read Redis should not wait for.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import click

from bot.cli import ops_commands as cli_ops
from bot.cli.ops_commands import EMPTY_KB_HELP, asker_of, asker_options, fail
from bot.errors import BotError
from bot.settings import EVAL_DATA_HELP, load_settings
from knowledge.errors import EmptyKnowledgeBase, KnowledgeError

TARGETS = (
    "guards",
    "retrieval",
    "calibrate",
    "covid-dataset",
    "cache",
    "verified",
    "verified-judges",
    "export-feedback",
    "answers",
    "compare",
    "gaps",
    "tables",
)
FILE = click.Path(path_type=Path)


@click.command(
    "eval",
    help="""Measure the bot on evaluation data.

\b
guards: the input guard on EVAL_DATA_DIR (../shared/eval).
retrieval: recall@1/5/10, MRR and latency of hybrid, dense and sparse search on --dataset.
calibrate: MIN_RELEVANCE and FAQ_MATCH from --dataset; VERIFIED_MATCH from the COVID paraphrases.
covid-dataset: write the COVID paraphrase dataset (the recipe) as JSON lines.
cache: the answer cache (exact and semantic) on question pairs: hit rate, precision
(default: the COVID paraphrase pairs; --dataset knowledge/eval/ko-pairs.jsonl: Korean).
verified: verified answers on the COVID paraphrases (half the FAQs verified, all asked), per half.
verified-judges: second judges of a verified match (margins, the answer, the knowledge base) there.
export-feedback: each rated answer as a case.
answers: the whole chain over --dataset cases, scored.
compare: --baseline and --candidate over them; exits 1 when the candidate regresses.
gaps: how the report groups unanswered questions, on labelled wordings.
tables: answers from tables with scripted SQL, and hostile SQL rejected.""",
)
@click.argument("target", type=click.Choice(TARGETS), metavar="TARGET")
@click.option(
    "--dataset",
    type=FILE,
    multiple=True,
    help='JSON lines {"question", "relevant": [...], "half"?}, repeatable (figures per language); '
    'answers and compare: one file of {"question", "expected_sources"?, "should_refuse"?}; '
    'cache: one file of {"question_1", "question_2", "similar"}',
)
@click.option(
    "--negatives",
    type=FILE,
    multiple=True,
    help="calibrate, answers: questions to refuse, one a line, repeatable (calibrate's default: "
    "the sample FAQ's questions, 200 MITRE prompts, the Korean off-topic questions in knowledge/eval)",
)
@click.option(
    "--half",
    type=click.Choice(["all", "calibration", "test"]),
    default="all",
    show_default=True,
    help="covid-dataset: which half of the FAQs; retrieval, calibrate, answers: lines of that `half`",
)
@click.option(
    "--data",
    type=FILE,
    help="the evaluation data folder (default: EVAL_DATA_DIR, else ../shared/eval)",
)
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON object")
@click.option(
    "--rating", type=click.Choice(["up", "down"]), help="export-feedback: only answers rated so"
)
@click.option(
    "--days", type=int, default=30, show_default=True, help="export-feedback: the last N days"
)
@click.option(
    "--variant",
    help="answers: the prompt (name in bot/chain/prompts or a .txt path; "
    "default: PROMPT_VARIANTS' largest share)",
)
@click.option("--baseline", help="compare: the prompt to compare against")
@click.option("--candidate", help="compare: the prompt that must not regress")
@click.option(
    "--tolerance",
    type=float,
    default=0.05,
    show_default=True,
    help="compare: how much lower a rate may be (cost per answer: 25%)",
)
@asker_options
def eval_command(target: str, as_json: bool, **options) -> int:
    if target in ("retrieval", "calibrate") and not options["dataset"]:
        raise click.UsageError(
            f"eval {target} needs --dataset FILE.jsonl (make one with `bot eval covid-dataset`)"
        )
    if target in ("answers", "compare") and not options["dataset"]:
        raise click.UsageError(
            f"eval {target} needs --dataset FILE.jsonl of cases (`bot eval export-feedback` makes some)"
        )
    if target == "compare" and not (options["baseline"] and options["candidate"]):
        raise click.UsageError(
            "eval compare needs --baseline PROMPT and --candidate PROMPT (e.g. answer-v1 and answer-v2)"
        )
    return evaluate(SimpleNamespace(target=target, json=as_json, **options))


def evaluate(args: SimpleNamespace) -> int:
    from bot.ops.evals import data as eval_data

    if args.target in ("export-feedback", "answers", "compare", "gaps", "tables"):
        return cli_ops.evaluate(args)
    data = args.data or load_settings().eval_data_dir
    pairs_given = args.target == "cache" and args.dataset
    needs_data = ("guards", "covid-dataset", "cache", "verified", "verified-judges")
    if args.target in needs_data and not (data.is_dir() or pairs_given):
        return fail(f"no evaluation data at {data}: {EVAL_DATA_HELP}.")
    if args.target == "covid-dataset":
        print(
            "\n".join(
                json.dumps(line, ensure_ascii=False)
                for line in eval_data.covid_dataset(data, args.half)
            )
        )
        return 0
    from knowledge.embeddings import Embedder

    if args.target in ("guards", "verified-judges", "cache", "verified"):
        if args.target == "guards":
            from bot.ops.evals.guards import eval_guards, render_guards

            figures = eval_guards(data, Embedder(load_settings().knowledge.embedding_threads))
            text = render_guards(figures)
        elif args.target == "verified-judges":
            from bot.ops.evals.verified_judges import eval_judges

            figures = eval_judges(data, Embedder(load_settings().knowledge.embedding_threads))
            text = json.dumps(figures, indent=2)
        else:
            from bot.chain.thread_memory import connect
            from bot.ops.evals.cache import covid_pairs, eval_cache, read_pairs

            try:  # the cache as the bot runs it: its Redis, its query embedding, its threshold
                settings = load_settings()
                client = connect(settings.redis_url)
            except (BotError, KnowledgeError) as error:
                return fail(error)
            try:
                embedder = Embedder(settings.knowledge.embedding_threads)
                if args.target == "verified":
                    from bot.ops.evals.verified import eval_verified

                    figures = eval_verified(
                        data,
                        embedder.embed_query,
                        settings.verified_match,
                        client,
                        settings.redis_prefix,
                    )
                else:
                    try:
                        pairs = read_pairs(args.dataset[0]) if pairs_given else covid_pairs(data)
                    except (OSError, ValueError) as error:
                        return fail(error)
                    thresholds = {
                        "en": settings.semantic_cache_match,
                        "ko": settings.semantic_cache_match_ko,
                    }
                    figures = eval_cache(pairs, embedder, thresholds, client, settings.redis_prefix)
            finally:
                client.close()
            text = json.dumps(figures, indent=2)
        print(json.dumps(figures, ensure_ascii=False) if args.json else text)
        return 0
    try:
        dataset = [
            line for path in args.dataset for line in eval_data.read_dataset(path, args.half)
        ]
        negatives = (
            [q for path in args.negatives for q in eval_data.read_questions(path, args.half)]
            if args.negatives
            else eval_data.default_negatives(data, args.half)
        )
    except (OSError, ValueError) as error:
        return fail(error)
    return evaluate_on_store(args, dataset, negatives)


def evaluate_on_store(args: SimpleNamespace, dataset: list[dict], negatives: list[str]) -> int:
    from bot.ops.evals.calibrate import calibrate, render_calibration
    from bot.ops.evals.retrieval import eval_retrieval, render_retrieval
    from knowledge.access import Access
    from knowledge.embeddings import Embedder
    from knowledge.retrieval import Retriever
    from knowledge.sparse import SparseEncoder
    from knowledge.store import Store

    settings = load_settings()
    try:
        store = Store.open(settings.knowledge)
    except KnowledgeError as error:
        return fail(error)
    try:
        retriever = Retriever(
            store, Embedder(settings.knowledge.embedding_threads), SparseEncoder()
        )
        access = Access.of(asker_of(args.user, args.channel, args.everything))
        if args.target == "retrieval":
            figures = eval_retrieval(retriever, dataset, access)
            text = render_retrieval(figures)
        else:
            figures = calibrate(retriever, dataset, negatives, settings, access)
            data = args.data or load_settings().eval_data_dir
            if data.is_dir():  # VERIFIED_MATCH: on the calibration half of the COVID paraphrases
                from bot.ops.evals.verified import suggest_threshold

                figures["verified"] = {
                    "suggested": suggest_threshold(retriever.embedder.embed_query, data),
                    "configured": {"VERIFIED_MATCH": settings.verified_match},
                }
            text = render_calibration(figures)
    except EmptyKnowledgeBase:
        return fail(EMPTY_KB_HELP)
    finally:
        store.close()
    print(json.dumps(figures, ensure_ascii=False) if args.json else text)
    return 0
