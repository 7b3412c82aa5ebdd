"""How many questions one process answers at once, and how many may wait.

Answering is CPU-bound (embedding, retrieval, guards) or waits on a model; past a few at a time
each answer only gets slower. So at most `workers` answer at once, up to `queue` more wait for
a turn, and beyond that a question is told at once that the bot is busy, instead of joining a
queue that grows without limit while Slack's users wait for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Admission:
    def __init__(self, workers: int, queue: int) -> None:
        self.capacity = workers + queue
        self._admitted = threading.BoundedSemaphore(self.capacity)
        self._working = threading.BoundedSemaphore(workers)
        self._count = 0
        self._changed = threading.Condition()

    @classmethod
    def for_settings(cls, settings) -> Admission:
        """ANSWER_WORKERS and ANSWER_QUEUE: one per process, shared by every edge it serves."""
        return cls(max(1, settings.answer_workers), max(0, settings.answer_queue))

    @property
    def admitted(self) -> int:
        """Questions answering or waiting now."""
        return self._count

    def wait_for_admitted(self, count: int, timeout: float) -> bool:
        """Until `count` questions are answering or waiting; False after `timeout` s. Only the tests
        call it (to know a question is queued without sleeping); a stop joins the answer threads instead."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == count, timeout=timeout)

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields True once it is this question's turn, or False at once when the queue is full."""
        if not self._admitted.acquire(blocking=False):
            yield False
            return
        with self._changed:
            self._count += 1
            self._changed.notify_all()
        try:
            with self._working:
                yield True
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()
            self._admitted.release()
