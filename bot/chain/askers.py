"""From who asks to what they may see: the asker's Slack user groups (Web API
`usergroups.users.list`, cached in Redis for USERGROUP_TTL_S) and the channel's scope
(`/kb scope`, kept in Redis, over the CHANNEL_SCOPES file). The result is one `Access`,
which every query of the turn filters on inside Qdrant (knowledge/access.py).
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import redis

from bot.chain.degrade import Reads
from knowledge.access import Access, AccessError, Asker, Scope
from knowledge.errors import SettingsError
from knowledge.store import Store

log = logging.getLogger(__name__)

Members = Callable[[str], list[str]]
"""A user group's id -> its members' user ids (raises when Slack cannot say)."""


class UserGroups:
    """Which of the user groups documents are restricted to a user is in. Each group's members
    are asked of Slack once per TTL and shared by every worker through Redis, so someone who
    leaves a group stops seeing its documents within the TTL."""

    def __init__(self, client: redis.Redis, prefix: str, members: Members, ttl_s: int) -> None:
        self._redis = client
        self._prefix = prefix
        self._members = members
        self.ttl_s = ttl_s

    def key(self, group: str) -> str:
        return f"{self._prefix}usergroup:{group}"

    def _members_of(self, groups: list[str], cached: list[str | None]) -> dict[str, set[str]]:
        """Every group's members: the cached ones (`cached`, an MGET's reply), the rest from Slack."""
        return {
            group: set(json.loads(raw)) if raw is not None else self._asked(group)
            for group, raw in zip(groups, cached, strict=True)
        }

    def _asked(self, group: str) -> set[str]:
        try:
            members = self._members(group)
        except (
            Exception
        ) as error:  # Slack down or the group gone: fail closed, and ask again next time
            log.warning("could not list the members of user group %s: %s", group, error)
            return set()
        self._redis.set(self.key(group), json.dumps(sorted(members)), ex=self.ttl_s)
        return set(members)

    def members(self, group: str) -> set[str]:
        """One group's members, from the cache or Slack (none when Slack cannot say)."""
        return self._members_of([group], [self._redis.get(self.key(group))])[group]

    def read_groups_of(
        self, user: str, groups: list[str], reads: Reads
    ) -> Callable[[], frozenset[str]]:
        """Which of `groups` `user` is in, once `reads` is sent: the cached members in its round
        trip (one MGET); without Redis, none (fail closed)."""
        if not user or not groups:
            return frozenset
        return reads.add(
            "usergroups",
            lambda pipe: pipe.mget([self.key(group) for group in groups]),
            lambda cached: frozenset(
                group
                for group, members in self._members_of(groups, cached).items()
                if user in members
            ),
            frozenset(),
        )


def slack_members(client) -> Members:
    """`usergroups.users.list` through a slack_sdk WebClient."""
    return lambda group: list(client.usergroups_users_list(usergroup=group).get("users", []))


class ChannelScopes:
    """Which part of the knowledge base each channel answers from. `/kb scope` writes Redis
    (shared by every worker, kept until changed); the CHANNEL_SCOPES file gives the rest."""

    def __init__(self, client: redis.Redis, prefix: str, configured: dict[str, Scope]) -> None:
        self._redis = client
        self._key = f"{prefix}channel-scopes"
        self.configured = configured

    def scope_of(self, channel: str) -> Scope:
        if not channel:
            return Scope()
        return self._scope(channel, self._redis.hget(self._key, channel))

    def read_scope_of(self, channel: str, reads: Reads) -> Callable[[], Scope]:
        """The channel's scope once `reads` is sent; without Redis, the CHANNEL_SCOPES file's."""
        return reads.add(
            "scope",
            lambda pipe: pipe.hget(self._key, channel),
            lambda raw: self._scope(channel, raw),
            self.configured.get(channel, Scope()),
        )

    def _scope(self, channel: str, raw: str | None) -> Scope:
        return Scope.from_dict(json.loads(raw)) if raw else self.configured.get(channel, Scope())

    def set(self, channel: str, scope: Scope) -> None:
        """An empty scope clears the channel's: it answers from everything again (or the file's scope)."""
        if scope:
            self._redis.hset(self._key, channel, json.dumps(scope.as_dict()))
        else:
            self._redis.hdel(self._key, channel)


def load_scopes(path: Path | None) -> dict[str, Scope]:
    """`[channels.C0123ABC]` tables with `tags = [...]` and/or `prefixes = [...]`."""
    if path is None:
        return {}
    where = f"CHANNEL_SCOPES={path}"
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("channels", {})
        if not isinstance(tables, dict):
            raise AccessError("[channels] must be a table of channel ids")
        return {channel: Scope.from_dict(table) for channel, table in tables.items()}
    except (OSError, tomllib.TOMLDecodeError, AccessError, AttributeError, TypeError) as error:
        raise SettingsError(
            f"{where} cannot be read ({error}); write `[channels.C0123ABC]` tables with "
            '`tags = ["hr"]` and/or `prefixes = ["handbook/hr"]`'
        ) from None


class AccessPolicy:
    """The one place an `Asker` becomes an `Access`."""

    def __init__(self, store: Store, usergroups: UserGroups | None, scopes: ChannelScopes) -> None:
        self.store = store
        self.usergroups = usergroups
        self.scopes = scopes

    def read_access(self, asker: Asker, reads: Reads) -> Callable[[], Access]:
        """What `asker` may see, once `reads` is sent (their user groups' members and the channel's
        scope come in its round trip). Without Redis, fail closed on user groups (none) and fall
        back to the file's scopes."""
        groups: Callable[[], frozenset[str]] = frozenset
        if self.usergroups is not None and asker.user and not asker.everything:
            restricted_to = [
                a.split(":", 1)[1] for a in self.store.audiences() if a.startswith("usergroup:")
            ]
            groups = self.usergroups.read_groups_of(asker.user, restricted_to, reads)
        scope: Callable[[], Scope] = Scope
        if asker.channel and not asker.direct:
            scope = self.scopes.read_scope_of(asker.channel, reads)
        return lambda: Access.of(replace(asker, usergroups=asker.usergroups | groups()), scope())
