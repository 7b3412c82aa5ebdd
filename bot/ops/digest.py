"""The weekly digest, posted to DIGEST_CHANNEL on DIGEST_CRON by a serving worker: the top
unanswered questions, new 👎 with their reasons, drafts waiting for review and stale documents;
and the owners of verified answers past their review date that questions hit are told, each
once (a DM)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import redis
from croniter import croniter
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ops.loop_report import loop_lines, loop_section

log = logging.getLogger(__name__)

SHOWN = 5


def digest_text(deps, days: int = 7) -> str:
    from bot.ops.report import build

    report = build(deps.turns, days, deps.embedder.embed_questions)
    lines = [f"*Weekly digest* ({report['window']['from']} .. {report['window']['to']})"]
    lines.append("*Asked, not answered*:")
    lines += [
        f"{n}. {g['count']}x “{g['examples'][0]}”"
        for n, g in enumerate(report["gaps"][:SHOWN], start=1)
    ] or ["none"]
    lines.append("*New 👎*:")
    lines += [
        f"• “{row['question']}”: {row['reason'] or 'no reason given'}"
        for row in report["downvoted"][:SHOWN]
    ] or ["none"]
    loop = loop_section(deps.verified, deps.escalations, deps.store.chunks(), deps.verified.clock())
    return "\n".join([*lines, *loop_lines(loop, slack=True)])


def tell_owners(deps, client: WebClient) -> int:
    """A DM to the owner of each verified answer a question hit past its review date; each once."""
    told = 0
    for entry_id in deps.verified.asked_overdue():
        entry = deps.verified.get(entry_id)
        if entry is None:
            continue
        try:
            client.chat_postMessage(
                channel=entry.owner,
                text=(
                    f"Your verified answer to “{entry.question}” was due for review on {entry.review_by}, and "
                    f"people are asking it: it is not served until re-approved (`{deps.settings.slack_command} "
                    f"verified`, or `bot verified approve {entry.id} --review-by YYYY-MM-DD`)."
                ),
            )
        except SlackApiError as error:
            log.warning(
                "could not tell %s about %s: %s",
                entry.owner,
                entry.id,
                error.response.get("error"),
            )
            continue
        deps.verified.told(entry_id)
        told += 1
    return told


def post_digest(deps, client: WebClient) -> None:
    client.chat_postMessage(channel=deps.settings.digest_channel, text=digest_text(deps))
    tell_owners(deps, client)


def start_digest(
    deps, client: WebClient, stop: threading.Event | None = None
) -> threading.Thread | None:
    """A thread posting the digest on DIGEST_CRON; one worker posts it (a Redis lock per slot)."""
    settings = deps.settings
    if not settings.digest_channel:
        return None
    if not croniter.is_valid(settings.digest_cron):
        raise ValueError(
            f"DIGEST_CRON={settings.digest_cron!r} is not a cron line; e.g. '0 9 * * 1' (Mondays 09:00)"
        )
    stop = stop or threading.Event()

    def run() -> None:
        schedule = croniter(settings.digest_cron, datetime.now())
        while not stop.is_set():
            slot = schedule.get_next(float)
            if stop.wait(max(0.0, slot - time.time())):
                return
            try:
                if deps.redis.set(
                    f"{settings.redis_prefix}digest:{int(slot)}", "1", nx=True, ex=86400
                ):
                    post_digest(deps, client)
            except (redis.RedisError, SlackApiError):  # the next slot tries again
                log.exception("could not post the digest")

    thread = threading.Thread(target=run, name="kb-digest", daemon=True)
    thread.start()
    return thread
