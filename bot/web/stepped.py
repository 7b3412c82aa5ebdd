"""An answer made in a thread of its own, so that its steps (bot/chain/progress.py) can be sent
while it is being made: the HTTP API's `stream: true` sends them as server-sent-event comments,
which OpenAI's clients skip. Like Slack, nothing of the answer is sent before the guards pass it.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.chain import progress
from bot.chain.answer import Answer
from bot.chain.progress import Step


@dataclass(frozen=True)
class Done:
    answer: Answer | None = None
    error: BaseException | None = None


def answered_with_steps(answer: Callable[[], Answer]) -> Iterator[Step | Done]:
    """`answer()`'s steps as they happen, then `Done` with its answer or what it raised."""
    events: queue.SimpleQueue[Step | Done] = queue.SimpleQueue()

    def run() -> None:
        with progress.reporting(events.put):
            try:
                events.put(Done(answer=answer()))
            except BaseException as error:  # handed to the request's thread, which answers for it
                events.put(Done(error=error))

    # The request's context (its trace, for one) goes with the answer into its thread.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name="kb-stream", daemon=True).start()
    while True:
        event = events.get()
        yield event
        if isinstance(event, Done):
            return
