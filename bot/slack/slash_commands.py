"""The slash command (`/kb` by default): `status`, `reindex`, `report`, `why`, `scope` and `channel` for admins,
`forget` and `help` (`도움말` in Korean) for everyone. Replies are plain text; the Slack edge sends them ephemerally.

`/kb reindex` starts a rebuild (bot/slack/reindexer.py); its progress and summary go to `notify`.
"""

from __future__ import annotations

import logging
import re

from bot.chain import i18n
from bot.chain.turn_log import TURN_TTL_S
from bot.chain.usage import describe
from bot.deps import Deps
from bot.errors import TraceNotFound
from bot.slack import expert_commands
from bot.slack.channel_command import channel_command
from bot.slack.channel_policy import ChannelPolicies
from bot.slack.reindexer import Notify, Reindexer
from ingest.status import per_audience, tables_per_audience
from knowledge.access import AccessError, Scope
from knowledge.errors import TableError, TableUnavailable

log = logging.getLogger(__name__)

DEFAULT_REPORT_DAYS = 7
MAX_REPORT_DAYS = TURN_TTL_S // 86400
"""Answers are kept no longer."""
MAX_WHY_CHARS = 3500
"""Slack cuts longer messages; a trace of a turn with re-asks can run past it."""

CHANNEL_MENTION = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
"""A channel as Slack escapes it in a command's text (`should_escape` in the manifest)."""


HELP_IN_KOREAN = ("도움말", "help ko")
"""`/kb 도움말` (or `/kb help ko`) answers in Korean; a slash command carries no question to tell by."""


def help_text(command: str, language: str = "en") -> str:
    return i18n.text(language, "command.help", command=command, days=DEFAULT_REPORT_DAYS)


class Commands:
    def __init__(
        self, deps: Deps, reindexer: Reindexer, policies: ChannelPolicies | None = None
    ) -> None:
        self.deps = deps
        self.reindexer = reindexer
        self.policies = policies or ChannelPolicies(deps.redis, deps.settings.redis_prefix)

    def handle(self, text: str, user: str, notify: Notify, channel: str = "") -> str | dict:
        """`channel`: where the command was typed (`status` shows its scope). A message with
        buttons (`review`, `verified`) is a dict of chat.postMessage fields."""
        command = self.deps.settings.slack_command
        action, *args = text.split() or ["help"]
        action = action.lower()
        language = (
            "ko" if " ".join(text.split()).lower() in HELP_IN_KOREAN else i18n.language_of(text)
        )
        if action == "forget":
            count = self.deps.memory.forget_user(user)
            return i18n.text(
                language,
                "command.forgot_one" if count == 1 else "command.forgot_other",
                count=count,
            )
        if action in expert_commands.ACTIONS:
            return expert_commands.handle(self.deps, action, args, user, channel)
        if action not in ("status", "reindex", "report", "why", "scope", "channel"):
            return help_text(command, language)
        if user not in self.deps.settings.slack_admin_users:
            log.warning("refused %s %s for non-admin %s", command, action, user)
            return i18n.text(language, "command.admins_only", command=command, action=action)
        log.info("admin %s ran %s %s", user, command, action)
        if action == "status":
            return self.status(channel)
        if action == "scope":
            return self.scope(args, channel)
        if action == "channel":
            return channel_command(
                self.policies,
                self.deps.access.scopes,
                args,
                channel,
                command,
                self.deps.variants.names,
            )
        if action == "report":
            return self.report(args)
        if action == "why":
            return self.why(args[0] if args else "")
        return self.reindexer.start(user, notify)

    def report(self, args: list[str]) -> str:
        days = args[0] if args else str(DEFAULT_REPORT_DAYS)
        if not days.isdigit() or not 1 <= int(days) <= MAX_REPORT_DAYS:
            command = self.deps.settings.slack_command
            return f"`{command} report` takes a number of days from 1 to {MAX_REPORT_DAYS}, e.g. `{command} report 30`."
        # The report's clustering (scikit-learn, ~1 s) loads only when an admin asks for one.
        from bot.ops.report import build
        from bot.ops.report_text import render_slack

        report = build(self.deps.turns, int(days), self.deps.embedder.embed_questions)
        report["loop"] = self.loop()
        return render_slack(report, self.deps.settings.slack_command)

    def loop(self) -> dict:
        from bot.ops.loop_report import loop_section

        return loop_section(
            self.deps.verified,
            self.deps.escalations,
            self.deps.store.chunks(),
            self.deps.verified.clock(),
        )

    def why(self, turn: str) -> str:
        """A turn's trace, as `bot trace` draws it, in a code block."""
        from bot.ops.traceview import TraceStore, render  # only when an admin asks why

        if not turn:
            return f"Which answer? `{self.deps.settings.slack_command} why TURN_ID` (the id is in the answer's context line)."
        try:
            drawn = render(TraceStore(self.deps.redis, self.deps.settings.redis_prefix).spans(turn))
        except TraceNotFound as error:
            return str(error)
        if len(drawn) > MAX_WHY_CHARS:
            drawn = drawn[:MAX_WHY_CHARS] + "\n… (cut; `bot trace` shows it whole)"
        return f"```\n{drawn}\n```"

    def scope(self, args: list[str], here: str) -> str:
        """`scope #channel hr policies handbook/hr/`: that channel answers only from documents
        tagged hr or policies or under handbook/hr; `scope #channel` alone: from everything."""
        command = self.deps.settings.slack_command
        mention = CHANNEL_MENTION.match(args[0]) if args else None
        channel = mention.group(1) if mention else here
        try:
            scope = Scope.parse(args[1:] if mention else args)
        except AccessError as error:
            return f"{error}. E.g. `{command} scope #ask-hr hr policies handbook/hr/`."
        if not channel:
            return f"Which channel? `{command} scope #channel tag...`"
        self.deps.access.scopes.set(channel, scope)
        log.info("scope of %s set to %s", channel, scope.as_dict())
        return (
            f"<#{channel}> now answers from {self.deps.access.scopes.scope_of(channel).describe()}."
        )

    def status(self, channel: str = "") -> str:
        settings = self.deps.settings
        tiers = " → ".join(f"`{t.name}`" for t in settings.tiers)
        mode = f"LLM cascade {tiers}" if tiers else "extractive (no LLM configured)"
        info = self.deps.store.info()
        if info is None:
            return f"The knowledge base is empty; fill it with `ingest PATH...`. Answering: {mode}."
        lines = [
            f"*Collection*: `{info.collection}` (version `{info.version}`)",
            f"*Documents*: {info.documents} · *chunks*: {info.chunks}",
            f"*Documents per audience*: {per_audience(info.audiences)}",
            *self._tables(),
            *(
                [
                    f"*This channel answers from*: {self.deps.access.scopes.scope_of(channel).describe()}",
                    f"*This channel*: {self.policies.policy_of(channel).describe()}",
                ]
                if channel and not channel.startswith("D")
                else []
            ),
            f"*Last ingest*: {info.last_ingest or 'unknown'}",
            f"*Sources*: {', '.join(info.sources) or 'unknown'}",
            f"*Rollback target*: {info.previous or 'none kept'}",
            *synced_sources(settings.ingest),
            f"*Answering*: {mode}",
            *circuits(self.deps),
            f"*Today*: {describe(self.deps.usage.today())}",
            *self._stale(),
        ]
        return "\n".join(lines)

    def _stale(self) -> list[str]:
        from bot.chain.freshness import describe_stale, stale_documents

        stale = stale_documents(self.deps.store.chunks(), self.deps.verified.clock())
        return [
            f"*Documents past their review date*: {len(stale)}",
            *(f"• {line}" for line in describe_stale(stale, 5)),
        ]

    def _tables(self) -> list[str]:
        """Tables per audience, as `ingest status` counts them; nothing when there are none."""
        answers = self.deps.table_answers
        try:
            tables = answers.tables.tables() if answers is not None else []
        except (
            TableUnavailable,
            TableError,
        ) as error:  # a status still answers while DuckDB is busy
            return [f"*Tables*: unreadable right now ({error})"]
        return (
            [
                f"*Tables per audience*: {per_audience(tables_per_audience(t.audience for t in tables))}"
            ]
            if tables
            else []
        )


def synced_sources(settings) -> list[str]:
    """Each sources.yaml source's last sync, next run and error in words (ingest/sync/report.py)."""
    from ingest.sync.commands import sources_lines

    lines = sources_lines(settings)
    return (
        [
            "*Synced sources*:",
            *(f"• {line}" if not line.startswith(" ") else line for line in lines),
        ]
        if lines
        else []
    )


def circuits(deps) -> list[str]:
    """Each remote tier's circuit, so an admin sees which endpoint is being skipped."""
    chats = deps.cascade.chats if deps.cascade is not None else []
    return [
        f"*Tier `{chat.tier.name}`*: {chat.breaker.state().describe()}"
        for chat in chats
        if hasattr(chat, "breaker")
    ]
