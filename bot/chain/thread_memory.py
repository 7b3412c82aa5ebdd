"""Thread memory in Redis: the last turns of each conversation, bounded and expiring."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import redis

from bot.chain.answer import Turn, flat_json
from bot.chain.degrade import Reads
from bot.errors import RedisUnavailable


def connect(url: str) -> redis.Redis:
    """The one place a Redis client is built; fails early with what to do."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, decode_responses=True
    )
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        raise RedisUnavailable(
            f"Cannot reach Redis at REDIS_URL={without_password(url)} ({error}). Start one with "
            "`redis-server --port 6379 --save '' --daemonize yes` (Debian: apt-get install redis-server), "
            "or point REDIS_URL at a running Redis."
        ) from None
    return client


def without_password(url: str) -> str:
    """REDIS_URL as it may be shown: a password in it (redis://user:secret@host) becomes ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(
        parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1))
    )


class ThreadMemory:
    def __init__(self, client: redis.Redis, prefix: str, max_turns: int, ttl_s: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._max_turns = max_turns
        self._ttl_s = ttl_s

    def _key(self, thread_id: str) -> str:
        return f"{self._prefix}thread:{thread_id}"

    def recent(self, thread_id: str) -> list[Turn]:
        """Oldest first."""
        return turns_of(self._redis.lrange(self._key(thread_id), 0, -1))

    def read_recent(self, thread_id: str, reads: Reads) -> Callable[[], list[Turn]]:
        """`recent(thread_id)` once `reads` is sent; without Redis, none."""
        return reads.add(
            "memory", lambda pipe: pipe.lrange(self._key(thread_id), 0, -1), turns_of, []
        )

    def remember(
        self, thread_id: str, turn: Turn, user: str = "", pipe: redis.client.Pipeline | None = None
    ) -> None:
        """`pipe`: queue the commands on the caller's pipeline, which sends them, instead of now."""
        key = self._key(thread_id)
        own, pipe = pipe is None, pipe if pipe is not None else self._redis.pipeline()
        pipe.rpush(key, flat_json(turn))
        pipe.ltrim(key, -self._max_turns, -1)
        pipe.expire(key, self._ttl_s)
        if user:
            # So that `forget_user` (`/kb forget`) can find every conversation this user took part in.
            pipe.sadd(self._user_key(user), thread_id)
            pipe.expire(self._user_key(user), self._ttl_s)
        if own:
            pipe.execute()

    def forget_user(self, user: str) -> int:
        """Forget `user`'s turns in every conversation they asked in, and only theirs: others in a
        shared thread keep what they asked. Returns how many conversations. A turn remembered
        before turns named their asker cannot be told apart, so it goes too."""
        threads = sorted(self._redis.smembers(self._user_key(user)))
        read = self._redis.pipeline(transaction=False)
        for thread in threads:
            read.lrange(self._key(thread), 0, -1)
        write = self._redis.pipeline()
        for thread, raws in zip(threads, read.execute(), strict=True):
            for raw in raws:
                if json.loads(raw).get("user", "") in (user, ""):
                    write.lrem(self._key(thread), 0, raw)
        write.delete(self._user_key(user))
        write.execute()
        return len(threads)

    def _user_key(self, user: str) -> str:
        return f"{self._prefix}user:{user}:threads"


def turns_of(raws: list[str]) -> list[Turn]:
    return [Turn(**json.loads(raw)) for raw in raws]
