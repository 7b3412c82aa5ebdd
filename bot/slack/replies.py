"""How one question gets its one reply in Slack: streamed (its steps as task updates, then the
checked answer), as one message, visible to the asker alone, or - for a question nobody
addressed to the bot - only when the answer cites a source.

Streaming shows steps only. The answer's text is sent once, whole, at chat.stopStream, after the
output guards passed it: a draft a guard rejects is never on Slack, not even for a moment.
Where streaming fails (an older workspace, an API error) the reply falls back to one message:
the stream's own message updated if it was started, else a new one. Never two answers, never none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.messages.chunk import TaskUpdateChunk

from bot.chain import progress
from bot.chain.answer import Answer
from bot.chain.progress import Step
from bot.slack.blocks import answer_blocks, detail_blocks

MAX_STEP_SOURCES = 5
"""Links shown under "Found n passages"; the answer's own sources follow it anyway."""

Post = Callable[[dict[str, Any]], object]


class Reply(Protocol):
    def step(self, step: Step) -> None: ...

    def deliver(self, answer: Answer) -> None: ...

    def say(self, text: str) -> None: ...


def rendered(answer: Answer, logger: logging.Logger) -> dict[str, Any]:
    """A chat.postMessage payload; rendering is not posting: a bug in it must not cost the reply."""
    try:
        return {"text": answer.text, "blocks": answer_blocks(answer)}
    except Exception:
        logger.exception("could not render the answer's blocks; posting its text alone")
        return {"text": answer.text}


class MessageReply:
    """Today's reply: one chat.postMessage (through bolt's `say`), no steps."""

    def __init__(self, post: Post, logger: logging.Logger) -> None:
        self._post = post
        self._logger = logger

    def step(self, step: Step) -> None:
        pass

    def deliver(self, answer: Answer) -> None:
        self._post(rendered(answer, self._logger))

    def say(self, text: str) -> None:
        self._post({"text": text})


def step_tasks(step: Step, language: str) -> list[TaskUpdateChunk]:
    """The task updates a chain step shows: each step completes the one before it."""
    shown = progress.title(step, language)
    if step.kind == "search":
        return [task("search", shown, "in_progress")]
    if step.kind == "found":
        links = {
            p.chunk.source: p.chunk.label
            for p in step.passages
            if p.chunk.source.startswith(("http://", "https://"))
        }
        sources = [
            {"type": "url", "url": url, "text": label}
            for url, label in list(links.items())[:MAX_STEP_SOURCES]
        ]
        return [task("search", shown, "complete", sources=sources or None)]
    if step.kind == "write":
        return [task("write", shown, "in_progress")]
    return [
        task("write", progress.title(Step("write"), language), "complete"),
        task("check", shown, "in_progress"),
    ]


def task(task_id: str, title: str, status: str, **fields: Any) -> TaskUpdateChunk:
    return TaskUpdateChunk(id=task_id, title=title, status=status, **fields)


class StreamedReply:
    """A reply streamed with chat.startStream / appendStream / stopStream. The stream starts at
    the first step; an answer that needed no step (a cache hit, a refused question) is one
    message. `fallback` posts that message (and any message when streaming failed)."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str,
        user: str,
        team: str,
        language: str,
        fallback: Post,
        logger: logging.Logger,
    ) -> None:
        self._client = client
        self._where = {"channel": channel, "thread_ts": thread_ts}
        self._recipient = (
            {"recipient_user_id": user, "recipient_team_id": team} if user and team else {}
        )
        self._language = language
        self._post = fallback
        self._logger = logger
        self._stream = None
        self._broken = False
        self._open: dict[str, TaskUpdateChunk] = {}
        """Tasks shown in progress, by id: the answer completes them."""

    def step(self, step: Step) -> None:
        self._send(step_tasks(step, self._language))

    def _send(self, tasks: list[TaskUpdateChunk]) -> None:
        if self._broken:
            return
        try:
            if self._stream is None:
                self._stream = self._client.chat_stream(
                    **self._where,
                    **self._recipient,
                    task_display_mode="timeline",
                    buffer_size=1,
                )
            self._stream.append(chunks=tasks)
        except (
            SlackApiError,
            SlackClientError,
        ) as error:  # the answer still comes, as one message
            self._logger.warning(
                "streaming the steps failed, the answer will be one message: %s", error
            )
            self._broken = True
            return
        for shown in tasks:
            if shown.status == "in_progress":
                self._open[shown.id] = shown
            else:
                self._open.pop(shown.id, None)

    def _completed(self, status: str = "complete") -> list[TaskUpdateChunk]:
        return [task(shown.id, shown.title, status) for shown in self._open.values()]

    def deliver(self, answer: Answer) -> None:
        try:
            details = detail_blocks(answer)
        except Exception:
            self._logger.exception("could not render the answer's blocks; posting its text alone")
            details = []
        self._finish(
            {"markdown_text": answer.text, "blocks": details or None},
            rendered(answer, self._logger),
        )

    def say(self, text: str) -> None:
        self._finish({"markdown_text": text}, {"text": text}, status="error")

    def _finish(
        self, ending: dict[str, Any], message: dict[str, Any], status: str = "complete"
    ) -> None:
        stream = self._stream
        if stream is None or not stream.ts:
            self._post(message)
            return
        try:
            stream.stop(chunks=self._completed(status) or None, **ending)
            return
        except (SlackApiError, SlackClientError) as error:
            self._logger.warning(
                "chat.stopStream failed, the answer replaces the stream's message: %s",
                error,
            )
        try:
            self._client.chat_update(channel=self._where["channel"], ts=stream.ts, **message)
        except (
            SlackApiError,
            SlackClientError,
        ) as error:  # better a second message than no answer
            self._logger.warning("chat.update failed too, posting the answer: %s", error)
            self._post(message)


class CitedOnly:
    """For a question nobody addressed to the bot: the answer only if it cites a source; else,
    and for a failure, silence (a channel's chatter is not told the bot could not help)."""

    def __init__(self, inner: Reply, logger: logging.Logger) -> None:
        self._inner = inner
        self._logger = logger

    def step(self, step: Step) -> None:
        pass  # no steps: a reply that may never come must not start

    def deliver(self, answer: Answer) -> None:
        if answer.refused or not answer.sources:
            self._logger.info("unaddressed question left unanswered: the answer cites nothing")
            return
        self._inner.deliver(answer)

    def say(self, text: str) -> None:
        self._logger.info("unaddressed question left unanswered: %s", text)
