"""Thread memory in real Redis: `/kb forget` in a shared thread, and where Redis is not named."""

import pytest

from bot.chain.answer import Turn
from bot.chain.thread_memory import ThreadMemory, connect
from bot.errors import RedisUnavailable


@pytest.fixture
def memory(redis_client, redis_prefix):
    return ThreadMemory(redis_client, redis_prefix, max_turns=10, ttl_s=60)


def test_forget_in_a_shared_thread_removes_only_the_callers_turns(memory):
    memory.remember("C1:1.0", Turn(question="mine?", answer="a", user="U1"), user="U1")
    memory.remember("C1:1.0", Turn(question="theirs?", answer="b", user="U2"), user="U2")
    memory.remember("C1:2.0", Turn(question="mine alone?", answer="c", user="U1"), user="U1")
    assert memory.forget_user("U1") == 2
    assert [turn.question for turn in memory.recent("C1:1.0")] == ["theirs?"]
    assert memory.recent("C1:2.0") == []
    assert memory.forget_user("U1") == 0  # nothing left to forget
    assert [turn.question for turn in memory.recent("C1:1.0")] == ["theirs?"]


def test_turns_remembered_before_they_named_their_asker_are_forgotten_with_the_thread(memory):
    memory.remember(
        "C1:3.0", Turn(question="whose?", answer="d"), user="U1"
    )  # no `user` in the turn
    assert memory.forget_user("U1") == 1 and memory.recent("C1:3.0") == []


def test_an_unreachable_redis_is_named_without_its_password():
    with pytest.raises(RedisUnavailable) as raised:
        connect("redis://kb:s3cret-pass@127.0.0.1:1/0")
    message = str(raised.value)
    assert "s3cret-pass" not in message and "redis://kb:***@127.0.0.1:1/0" in message
