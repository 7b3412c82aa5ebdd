"""`bot verified add|list|retire|approve|import`: verified answers (bot/chain/verified.py). Reads
and writes Redis only: no model is loaded to manage them (the serving workers embed a new entry
when they next see the store's version move)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import click

from bot.cli.ops_commands import fail
from bot.errors import BotError
from knowledge.errors import KnowledgeError

CSV_COLUMNS = (
    "question",
    "answer",
    "owner",
    "audience",
    "review_by",
    "paraphrases",
    "verified_on",
)
"""`question`, `answer` and `owner` are required; `audience` comma-separated (default everyone),
`paraphrases` separated by `|` (they may hold commas)."""


@click.group(help="Verified answers: served word for word before retrieval, with their owner.")
def verified() -> None:
    pass


@verified.command(help="Add an approved verified answer; prints its id.")
@click.option("--question", required=True, help="the question it answers")
@click.option("--answer", required=True, help="the answer, served word for word")
@click.option(
    "--owner",
    required=True,
    help="who vouches for it: a Slack user id (U0123ABC) or a name",
)
@click.option(
    "--audience",
    multiple=True,
    help="who may be served it (repeatable): everyone (default), channel:C…, user:U…, usergroup:S…",
)
@click.option("--paraphrase", multiple=True, help="another wording of the question (repeatable)")
@click.option(
    "--review-by",
    default="",
    help="YYYY-MM-DD: not served after this date until re-approved",
)
def add(
    question: str,
    answer: str,
    owner: str,
    audience: tuple[str, ...],
    paraphrase: tuple[str, ...],
    review_by: str,
) -> int:
    from bot.chain.verified import Verified

    def run(store) -> None:
        entry = store.save(
            Verified(
                question,
                answer,
                owner,
                audience or ("everyone",),
                paraphrase,
                review_by=review_by,
                source="cli",
            )
        )
        print(f"Added verified answer {entry.id} ({describe(entry)}).")

    return with_verified(run)


@verified.command("list", help="The verified answers and drafts waiting for review.")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per answer")
@click.option("--retired", is_flag=True, help="retired ones too")
def list_verified(as_json: bool, retired: bool) -> int:
    def run(store) -> None:
        statuses = ("approved", "draft", "retired") if retired else ("approved", "draft")
        for entry in store.all(statuses):
            if as_json:
                print(
                    json.dumps(
                        {**asdict(entry), "overdue": entry.overdue(store.clock())},
                        ensure_ascii=False,
                    )
                )
            else:
                print(f"{entry.id}\t{entry.status}\t{describe(entry)}\t{entry.question}")

    return with_verified(run)


@verified.command(help="Stop serving one at once. ID as `bot verified list` shows it.")
@click.argument("entry_id", metavar="ID")
def retire(entry_id: str) -> int:
    return with_verified(
        lambda store: print(f"Retired {store.retire(entry_id).id}: it is no longer served.")
    )


@verified.command(
    help="Approve a draft (or re-approve one past its review date) as verified today."
)
@click.argument("entry_id", metavar="ID")
@click.option("--review-by", default=None, help="YYYY-MM-DD: a new review-by date")
def approve(entry_id: str, review_by: str | None) -> int:
    def run(store) -> None:
        entry = store.approve(
            entry_id, **({"review_by": review_by} if review_by is not None else {})
        )
        print(f"Approved {entry.id} ({describe(entry)}).")

    return with_verified(run)


@verified.command(
    "import",
    help=f"Add approved answers from a CSV file with a header row: "
    f"{', '.join(CSV_COLUMNS)} (the first three required).",
)
@click.argument(
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE.csv",
)
def import_csv(path: Path) -> int:
    from bot.chain.verified import VerifiedError

    def run(store) -> None:
        entries = read_csv(path)  # every row checked before any is stored: a bad file adds nothing
        for number, entry in entries:
            try:
                entry.checked()
            except VerifiedError as error:
                raise VerifiedError(f"{path}:{number}: {error}") from None
        for _, entry in entries:
            store.save(entry)
        print(f"Imported {len(entries)} verified answers from {path}.")

    return with_verified(run)


def read_csv(path: Path) -> list:
    from bot.chain.verified import Verified, VerifiedError

    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"question", "answer", "owner"} - set(reader.fieldnames or ())
        if missing:
            raise VerifiedError(
                f"{path}: the header row needs the columns {', '.join(sorted(missing))} "
                f"(all: {', '.join(CSV_COLUMNS)})"
            )
        return [
            (
                number,
                Verified(
                    row["question"] or "",
                    row["answer"] or "",
                    row["owner"] or "",
                    tuple((row.get("audience") or "everyone").split(",")),
                    tuple((row.get("paraphrases") or "").split("|")),
                    verified_on=row.get("verified_on") or "",
                    review_by=row.get("review_by") or "",
                    source=path.name,
                ),
            )
            for number, row in enumerate(reader, start=2)
        ]


def describe(entry) -> str:
    review = f", review by {entry.review_by}" if entry.review_by else ""
    verified_on = f" on {entry.verified_on}" if entry.verified_on else ""
    return f"owner {entry.owner}{verified_on}, for {', '.join(entry.audience)}{review}"


def with_verified(run) -> int:
    from bot.chain.thread_memory import connect
    from bot.chain.verified import VerifiedAnswers, VerifiedError
    from bot.settings import load_settings

    try:
        settings = load_settings()
        run(
            VerifiedAnswers(
                connect(settings.redis_url),
                settings.redis_prefix,
                None,
                settings.verified_match,
            )
        )
    except (VerifiedError, BotError, KnowledgeError) as error:
        return fail(error)
    return 0
