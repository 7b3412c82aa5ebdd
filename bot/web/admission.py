"""How many questions one process answers at once, and how many may wait.

Answering is CPU-bound (embedding, retrieval, guards) or waits on a model; past a few at a time
each answer only gets slower. So at most `workers` answer at once, up to `queue` more wait for
a turn, and beyond that a question is told at once that the bot is busy, instead of joining a
queue that grows without limit while Slack's users wait for nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


class CallerRunsExecutor(ThreadPoolExecutor):
    """Bolt's listener pool, without a queue: a job no thread is free for runs at once in the
    thread that submits it (Java's caller-runs policy). A ThreadPoolExecutor queues it without
    limit instead, so a burst waited there unseen, and admission was checked only when a thread
    took it up. With a thread for every admitted question and a few spare, such a job is one
    Admission turns away: the asker hears "busy" at once, from the request's own thread."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._free = threading.BoundedSemaphore(max_workers)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if not self._free.acquire(blocking=False):
            ran: Future = Future()
            try:
                ran.set_result(fn(*args, **kwargs))
            except BaseException as error:  # as a pooled job's would be: kept in its future
                ran.set_exception(error)
            return ran

        def pooled():
            try:
                return fn(*args, **kwargs)
            finally:
                self._free.release()

        return super().submit(pooled)
