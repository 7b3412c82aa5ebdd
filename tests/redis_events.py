"""Waiting on a Redis key's changes themselves (keyspace notifications), so a test wakes when a
worker writes or extends the key instead of polling it on a timer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis


@contextmanager
def key_events(client: redis.Redis, key: str) -> Iterator[callable]:
    """`next_event(deadline, *wanted)`: the next operation on `key` ("set", "expire", "del",
    ...; of `wanted` when given), or None once `deadline` (time.monotonic) has passed. Turns keyspace notifications on for the
    test and restores the server's setting after."""
    before = client.config_get("notify-keyspace-events").get("notify-keyspace-events", "")
    client.config_set("notify-keyspace-events", "KA")
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    pubsub.subscribe(f"__keyspace@{db}__:{key}")

    def next_event(deadline: float, *wanted: str) -> str | None:
        while (left := deadline - time.monotonic()) > 0:
            message = pubsub.get_message(timeout=left)  # blocks until the server says something
            if message is not None and (not wanted or message["data"] in wanted):
                return message["data"]
        return None

    try:
        yield next_event
    finally:
        pubsub.close()
        client.config_set("notify-keyspace-events", before)
