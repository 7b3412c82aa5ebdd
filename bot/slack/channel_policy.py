"""How the bot behaves in each channel (`/kb channel`, admins), with defaults for the workspace:

- `mode`: `mentions` answers @mentions only; `questions` also plain questions in the channel
  (bot/slack/question_filter.py);
- `cited`: in `questions` mode, a plain question gets an answer only if it cites a source;
- `ephemeral`: answers visible to the asker alone, with a "Share with the channel" button;
- `askers`: the user groups whose members may ask (empty: everyone);
- `variant`: the answer prompt (PROMPT_VARIANTS' name; "" leaves it to the split).
What a channel answers from is its scope (`/kb scope`, bot/chain/askers.py).

Kept in one Redis hash (every worker shares it), read through a per-worker cache of CACHE_TTL_S:
a change reaches every worker within seconds, and a busy channel costs no round trip a message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal

import redis

log = logging.getLogger(__name__)

CACHE_TTL_S = 5.0
WORKSPACE = "*"
"""The field of the workspace's defaults in the hash; a channel's own fields override them."""
Mode = Literal["mentions", "questions"]
MODES = ("mentions", "questions")


class PolicyError(ValueError):
    """A `/kb channel` setting that cannot be read; the message says what to write."""


@dataclass(frozen=True)
class ChannelPolicy:
    mode: Mode = "mentions"
    cited: bool = True
    """In `questions` mode, a plain question is answered only when the answer cites a source
    (a mention always gets a reply)."""
    ephemeral: bool = False
    askers: tuple[str, ...] = field(default_factory=tuple)
    """User group ids (S...); empty: everyone may ask."""
    variant: str = ""

    def describe(self) -> str:
        who = ", ".join(f"<!subteam^{group}>" for group in self.askers) or "everyone"
        return (
            f"mode `{self.mode}` ({'@mentions only' if self.mode == 'mentions' else '@mentions and plain questions'})"
            f"{' (cited answers only)' if self.mode == 'questions' and self.cited else ''}"
            f" · {'ephemeral answers with a share button' if self.ephemeral else 'answers in the thread'}"
            f" · asked by {who} · prompt {f'`{self.variant}`' if self.variant else 'from the split'}"
        )


SUBTEAM = "<!subteam^"


def parse_settings(args: list[str], known_variants: list[str]) -> dict[str, object]:
    """`mode=questions ephemeral=on askers=<!subteam^S1|hr>,S2 variant=v2` -> the fields they set.
    `askers=everyone` and `variant=split` clear theirs."""
    changes: dict[str, object] = {}
    for arg in args:
        name, sep, value = arg.partition("=")
        if not sep:
            raise PolicyError(f"`{arg}` is not a setting: write name=value")
        if name == "mode":
            if value not in MODES:
                raise PolicyError(f"mode is `mentions` or `questions`, not `{value}`")
            changes["mode"] = value
        elif name in ("ephemeral", "cited"):
            if value not in ("on", "off"):
                raise PolicyError(f"{name} is `on` or `off`, not `{value}`")
            changes[name] = value == "on"
        elif name == "askers":
            changes["askers"] = () if value == "everyone" else tuple(group_ids(value))
        elif name == "variant":
            if value != "split" and value not in known_variants:
                raise PolicyError(
                    f"no prompt variant `{value}`; known: {', '.join(known_variants)} (or `split`)"
                )
            changes["variant"] = "" if value == "split" else value
        else:
            raise PolicyError(
                f"no setting `{name}`; the settings are mode, cited, ephemeral, askers and variant"
            )
    return changes


def group_ids(value: str) -> list[str]:
    """User group ids from `S1,<!subteam^S2|@hr>` (Slack escapes a group mention like that)."""
    ids = []
    for part in value.split(","):
        part = part.strip()
        if part.startswith(SUBTEAM):
            part = part[len(SUBTEAM) :].split("|")[0].rstrip(">")
        if not part.startswith("S") or not part[1:].isalnum():
            raise PolicyError(
                f"`{part}` is not a user group: mention it (@group) or give its id (S...)"
            )
        ids.append(part)
    return ids


class ChannelPolicies:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: float = CACHE_TTL_S) -> None:
        self._redis = client
        self._key = f"{prefix}channel-policies"
        self._ttl_s = ttl_s
        self._cached: tuple[float, dict[str, dict]] | None = None
        self._lock = threading.Lock()

    def _all(self) -> dict[str, dict]:
        """Every channel's own settings (and the workspace's), from the cache while it is fresh."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self._ttl_s:
                return self._cached[1]
        try:
            raw = self._redis.hgetall(self._key)
        except (
            redis.RedisError
        ) as error:  # without Redis: the last known settings, else the defaults
            log.warning("channel policies unreadable, using the last known: %s", error)
            return self._cached[1] if self._cached else {}
        settings = {channel: json.loads(value) for channel, value in raw.items()}
        with self._lock:
            self._cached = (time.monotonic(), settings)
        return settings

    def policy_of(self, channel: str) -> ChannelPolicy:
        settings = self._all()
        merged = {**settings.get(WORKSPACE, {}), **settings.get(channel, {})}
        known = {f.name for f in fields(ChannelPolicy)}
        policy = ChannelPolicy(**{k: v for k, v in merged.items() if k in known})
        return replace(policy, askers=tuple(policy.askers))

    def own(self, channel: str) -> dict:
        """What is set for `channel` itself (WORKSPACE: the defaults), without the cache."""
        raw = self._redis.hget(self._key, channel)
        return json.loads(raw) if raw else {}

    def update(self, channel: str, changes: dict[str, object]) -> ChannelPolicy:
        """Set `changes` for `channel` (or WORKSPACE); this worker sees them at once."""
        own = {
            **self.own(channel),
            **{k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()},
        }
        self._redis.hset(self._key, channel, json.dumps(own))
        with self._lock:
            self._cached = None
        return self.policy_of(channel)

    def reset(self, channel: str) -> None:
        self._redis.hdel(self._key, channel)
        with self._lock:
            self._cached = None


def as_dict(policy: ChannelPolicy) -> dict:
    return asdict(policy)
