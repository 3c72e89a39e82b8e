"""Who is staff: members of the staff channels of the policy, or of one Slack user group.

Each staff member comes with the staff channels they are a member of: with the policy's
staff_scope "product" the core lets them act on those products' tickets only."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import ChannelResolver
from bot.commands import Staff
from bot.policy import Policy
from bot.ports import Undeliverable

log = logging.getLogger(__name__)


def staff_channels(policy: Policy) -> list[str]:
    return sorted({p.staff_channel for p in policy.products.values() if p.staff_channel})


class StaffDirectory:
    """Membership is cached for `ttl` seconds (a newcomer waits at most that long); if Slack
    cannot be asked, the last known list is kept, and with none nobody counts as staff."""

    def __init__(self, client: AsyncWebClient, channels: Iterable[str], *, usergroup: str | None = None,
                 resolver: ChannelResolver | None = None, ttl: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.channels = list(channels)
        self.usergroup = usergroup or None
        self.resolver = resolver or ChannelResolver(client)
        self.ttl, self.clock = ttl, clock
        self._members: dict[str, frozenset[str]] | None = None  # staff user -> their staff channels
        self._fetched_at = float("-inf")
        self._names: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def is_staff(self, user_id: str) -> bool:
        return user_id in await self.members()

    async def staff(self, user_id: str) -> Staff | None:
        """The user as bot.commands.Staff (with their staff channels), or None if not staff."""
        members = await self.members()
        if user_id not in members:
            return None
        return Staff(user_id, await self.display_name(user_id), members[user_id])

    async def members(self) -> dict[str, frozenset[str]]:
        if self._members is not None and self.clock() - self._fetched_at < self.ttl:
            return self._members
        async with self._lock:
            if self._members is None or self.clock() - self._fetched_at >= self.ttl:
                try:
                    self._members = await self._fetch()
                    self._fetched_at = self.clock()
                except Exception:
                    log.exception("could not list Slack staff; keeping the last known list")
                    if self._members is None:
                        return {}
        return self._members

    async def _fetch(self) -> dict[str, frozenset[str]]:
        by_channel = await self._channel_members()
        channels_of: dict[str, set[str]] = {}
        for name, users in by_channel.items():
            for user in users:
                channels_of.setdefault(user, set()).add(name)
        if self.usergroup:  # the group says who is staff; channels still say for which products
            response = await self.client.usergroups_users_list(usergroup=self.usergroup)
            return {user: frozenset(channels_of.get(user, ())) for user in response.get("users") or []}
        return {user: frozenset(names) for user, names in channels_of.items()}

    async def _channel_members(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for name in self.channels:
            try:
                channel = await self.resolver.resolve(name)
            except Undeliverable as exc:  # one wrong name in the policy must not lock everyone out
                log.warning("staff channel skipped: %s", exc)
                continue
            members = found.setdefault(name, set())
            cursor: str | None = None
            while True:
                page = await self.client.conversations_members(channel=channel, limit=1000, cursor=cursor)
                members.update(page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        return found

    async def display_name(self, user_id: str) -> str:
        cached = self._names.get(user_id)
        if cached and self.clock() - cached[1] < self.ttl * 12:
            return cached[0]
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
        except Exception:
            log.warning("users.info failed for %s; using the id as the name", user_id)
            return cached[0] if cached else user_id
        profile = user.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                or user.get("name") or user_id)
        self._names[user_id] = (name, self.clock())
        return name
