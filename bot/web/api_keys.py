"""API keys for the HTTP API. A key is shown once, when it is made; Redis keeps only its
SHA-256 (a key is 256 random bits: its hash cannot be reversed by guessing), with the name,
user and channel it acts as.

Redis keys (under the deployment's prefix), never expiring:
- `apikeys`: name -> the key's record (JSON), for `bot keys list` and `revoke`.
- `apikey:{sha256}`: the same record, for the one lookup each request makes.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass

import redis

from bot.errors import ApiKeyError

KEY_PREFIX = "kb-"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class ApiKey:
    name: str
    user: str = ""
    """The user the key asks as ("" : a key bound to no user, which may name one per request)."""
    channel: str = ""
    """The channel it asks in, for access control, budgets and totals ("" likewise)."""
    per_minute: int | None = None
    """Its rate limit; None: API_RATE_LIMIT_PER_MINUTE."""
    digest: str = ""
    created: float = 0.0


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._names = f"{prefix}apikeys"
        self._prefix = prefix

    def _lookup(self, digest: str) -> str:
        return f"{self._prefix}apikey:{digest}"

    def add(
        self, name: str, user: str = "", channel: str = "", per_minute: int | None = None
    ) -> str:
        """Make a key; returns it (the only time it is known)."""
        if not NAME.fullmatch(name):
            raise ApiKeyError(
                f"{name!r} is not a key name: use letters, digits, '.', '_' or '-' (up to 64)."
            )
        if per_minute is not None and per_minute < 0:
            raise ApiKeyError("--per-minute takes 0 (no limit) or more.")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(name, user, channel, per_minute, digest_of(secret), round(time.time(), 3))
        record = json.dumps(asdict(key))
        if not self._redis.hsetnx(self._names, name, record):
            raise ApiKeyError(
                f"There is a key named {name!r} already; revoke it (`bot keys revoke {name}`) "
                "or pick another name."
            )
        self._redis.set(self._lookup(key.digest), record)
        return secret

    def find(self, secret: str) -> ApiKey | None:
        raw = self._redis.get(self._lookup(digest_of(secret)))
        return ApiKey(**json.loads(raw)) if raw else None

    def list(self) -> list[ApiKey]:
        keys = [ApiKey(**json.loads(raw)) for raw in self._redis.hgetall(self._names).values()]
        return sorted(keys, key=lambda key: key.name)

    def revoke(self, name: str) -> ApiKey:
        raw = self._redis.hget(self._names, name)
        if raw is None:
            raise ApiKeyError(f"There is no key named {name!r}; `bot keys list` shows them.")
        key = ApiKey(**json.loads(raw))
        pipe = self._redis.pipeline()
        pipe.delete(self._lookup(key.digest))
        pipe.hdel(self._names, name)
        pipe.execute()
        return key
