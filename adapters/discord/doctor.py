"""`supportbot doctor`, Discord side, over REST only (no gateway session): the token, the Message
Content intent, the guild and support channel, and the bot's permissions in that channel against
the invite's. Each finding is (check, ok, what to do or what is fine)."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord

from adapters.discord.invite import bot_permissions

Finding = tuple[str, bool, str]
# application flags: the Message Content intent, approved (100+ guilds) or switched on (fewer)
MESSAGE_CONTENT = (1 << 18) | (1 << 19)


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def channel_permissions(guild: dict[str, Any], member: dict[str, Any], channel: dict[str, Any]) -> discord.Permissions:
    """Discord's rule: @everyone and the member's roles, then the channel's overwrites for
    @everyone, the roles (denies before allows) and the member."""
    roles = {r["id"]: int(r["permissions"]) for r in guild.get("roles", [])}
    value = roles.get(guild["id"], 0)
    for role in member.get("roles", []):
        value |= roles.get(role, 0)
    if value & discord.Permissions.administrator.flag:  # type: ignore[attr-defined]
        return discord.Permissions.all()
    overwrites = {o["id"]: (int(o["allow"]), int(o["deny"])) for o in channel.get("permission_overwrites", [])}
    allow, deny = overwrites.get(guild["id"], (0, 0))
    value = (value & ~deny) | allow
    role_allow = role_deny = 0
    for role in member.get("roles", []):
        a, d = overwrites.get(role, (0, 0))
        role_allow, role_deny = role_allow | a, role_deny | d
    value = (value & ~role_deny) | role_allow
    allow, deny = overwrites.get(member["user"]["id"], (0, 0))
    return discord.Permissions((value & ~deny) | allow)


async def check_discord(token: str, api_url: str, guild_id: int | None, channel_id: int | None) -> list[Finding]:
    base = api_url.rstrip("/")
    headers = {"Authorization": f"Bot {token}"}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as http:

        async def get(path: str) -> Any:
            async with http.get(base + path) as response:
                if response.status != 200:
                    raise _Refused(response.status)
                return await response.json()

        try:
            me = await get("/users/@me")
        except (_Refused, aiohttp.ClientError, TimeoutError) as exc:
            why = f"HTTP {exc.status}" if isinstance(exc, _Refused) else type(exc).__name__
            return [("discord login", False, f"refused ({why}): copy the bot token (Developer Portal > Bot) "
                                             "into DISCORD_TOKEN")]
        findings: list[Finding] = [("discord login", True, f"logged in as {me.get('username')}")]
        try:
            flags = int((await get("/applications/@me")).get("flags") or 0)
            findings.append(("discord message content intent", bool(flags & MESSAGE_CONTENT),
                             "enabled" if flags & MESSAGE_CONTENT else
                             "off: enable Message Content under Bot > Privileged Gateway Intents"))
        except (_Refused, aiohttp.ClientError) as exc:
            findings.append(("discord message content intent", False, f"cannot read the application ({exc})"))
        if guild_id is None or channel_id is None:
            findings.append(("discord guild", False, "set DISCORD_GUILD_ID and DISCORD_SUPPORT_CHANNEL_ID"))
            return findings
        try:
            guild = await get(f"/guilds/{guild_id}")
            findings.append(("discord guild", True, f"sees {guild.get('name')}"))
        except (_Refused, aiohttp.ClientError):
            findings.append(("discord guild", False, f"the bot is not in guild {guild_id}: invite it "
                             "(bin/run discord invite-url) or fix DISCORD_GUILD_ID"))
            return findings
        try:
            channel = await get(f"/channels/{channel_id}")
        except (_Refused, aiohttp.ClientError):
            findings.append(("discord support channel", False, f"channel {channel_id} is not visible to the bot: "
                             "fix DISCORD_SUPPORT_CHANNEL_ID or give the bot View Channel there"))
            return findings
        if str(channel.get("guild_id")) != str(guild_id) or channel.get("type") != 0:
            findings.append(("discord support channel", False, f"channel {channel_id} is not a text channel of "
                             f"guild {guild_id}: fix DISCORD_SUPPORT_CHANNEL_ID"))
            return findings
        findings.append(("discord support channel", True, f"#{channel.get('name')}"))
        try:
            member = await get(f"/guilds/{guild_id}/members/{me['id']}")
        except (_Refused, aiohttp.ClientError) as exc:
            findings.append(("discord permissions", False, f"cannot read the bot's roles ({exc})"))
            return findings
        have = channel_permissions(guild, member, channel)
        missing = sorted(name for name, needed in bot_permissions() if needed and not getattr(have, name))
        findings.append(("discord permissions", not missing,
                         "the bot has every permission of the invite in the support channel" if not missing else
                         f"missing in #{channel.get('name')}: {', '.join(missing)}: re-invite the bot "
                         "(bin/run discord invite-url) or fix the channel's permission overrides"))
        return findings
