"""The gate in front of the agent: each event answered once, each user limited per 60 s."""

import pytest

from bot.chain.gate import Gate


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_event_passes_the_gate_once_whichever_worker_asks(redis_client, redis_prefix):
    workers = [Gate(redis_client, redis_prefix, per_minute=5) for _ in range(2)]
    assert [gate.first_delivery("Ev1") for gate in workers] == [True, False]
    assert workers[1].first_delivery("Ev2")


def test_the_limit_holds_across_a_minute_boundary(redis_client, redis_prefix):
    clock = Clock(1_000_059.0)  # one second before a clock minute ends
    gate = Gate(redis_client, redis_prefix, per_minute=3, clock=clock)
    assert [gate.allow("U1") for _ in range(3)] == [True, True, True]
    clock.now += 2  # a new clock minute, but the three questions are two seconds old
    assert not gate.allow("U1")
    assert gate.allow("U2"), "another user has their own window"
    clock.now += 59  # the first three have left the window; the refused one never counted
    assert [gate.allow("U1") for _ in range(4)] == [True, True, True, False]


def test_a_request_over_the_limit_is_told_when_the_window_has_room(redis_client, redis_prefix):
    clock = Clock(1_000_000.0)
    gate = Gate(redis_client, redis_prefix, per_minute=10, clock=clock)
    assert gate.wait_s("key:ci", limit=2) == 0
    clock.now += 20
    assert gate.wait_s("key:ci", limit=2) == 0
    clock.now += 5
    assert gate.wait_s("key:ci", limit=2) == pytest.approx(
        35
    )  # the first leaves the window at 60 s
    assert gate.wait_s("key:other", limit=2) == 0, "each key has its own window"
    clock.now += 35
    assert gate.wait_s("key:ci", limit=2) == 0


def test_no_limit_when_it_is_zero(redis_client, redis_prefix):
    gate = Gate(redis_client, redis_prefix, per_minute=0)
    assert all(gate.allow("U1") for _ in range(50))


def test_admission_lets_workers_answer_queues_a_few_and_turns_the_rest_away_at_once():
    import threading

    from bot.web.admission import Admission

    admission = Admission(workers=1, queue=1)
    release, outcomes = threading.Event(), []

    def ask() -> None:
        with admission.slot() as admitted:
            outcomes.append(admitted)
            if admitted:
                release.wait(timeout=30)

    first = threading.Thread(target=ask)
    first.start()
    second = threading.Thread(target=ask)  # waits for the one worker
    second.start()
    assert admission.wait_for_admitted(2, timeout=30)  # the second is admitted and waits
    with admission.slot() as third:  # the queue is full: told at once, not queued
        assert third is False
    release.set()
    first.join(timeout=30), second.join(timeout=30)
    assert outcomes == [True, True]  # the waiting one answered once the worker was free
    assert admission.admitted == 0
    with admission.slot() as again:
        assert again
