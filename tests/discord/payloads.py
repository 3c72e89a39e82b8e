"""Discord payloads for the fake (shapes from discord/types/*.py)."""

from __future__ import annotations

import itertools
from typing import Any

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
GUILD_ID = 900000000000000003
SUPPORT_ID = 900000000000000004
OTHER_CHANNEL_ID = 900000000000000005
STAMP = "2026-12-03T09:00:00.000000+00:00"
_ids = itertools.count(910000000000000000)


def snowflake() -> int:
    return next(_ids)


def user(uid: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(uid), "username": name.lower(), "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot}


BOT = user(BOT_ID, "SupportBot", bot=True)


def member(u: dict[str, Any]) -> dict[str, Any]:
    return {"user": u, "roles": [], "joined_at": STAMP, "deaf": False, "mute": False, "flags": 0,
            "permissions": "0", "nick": None}


def text_channel(cid: int, name: str) -> dict[str, Any]:
    return {"id": str(cid), "type": 0, "guild_id": str(GUILD_ID), "name": name, "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "last_message_id": None, "rate_limit_per_user": 0}


def thread(tid: int, parent: int, name: str, owner: int = BOT_ID, private: bool = True) -> dict[str, Any]:
    return {"id": str(tid), "type": 12 if private else 11, "guild_id": str(GUILD_ID), "parent_id": str(parent),
            "owner_id": str(owner), "name": name, "last_message_id": None, "rate_limit_per_user": 0,
            "message_count": 0, "member_count": 1, "flags": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 10080, "archive_timestamp": STAMP,
                                "locked": False, "invitable": False, "create_timestamp": STAMP}}


def guild() -> dict[str, Any]:
    return {"id": str(GUILD_ID), "name": "Vendor community", "owner_id": "1", "unavailable": False,
            "icon": None, "splash": None, "discovery_splash": None, "afk_channel_id": None, "afk_timeout": 300,
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
            "roles": [{"id": str(GUILD_ID), "name": "@everyone", "permissions": "0", "position": 0, "color": 0,
                       "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
            "emojis": [], "stickers": [], "features": [], "mfa_level": 0, "application_id": None,
            "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None, "vanity_url_code": None,
            "description": None, "banner": None, "premium_tier": 0, "preferred_locale": "en-US",
            "public_updates_channel_id": None, "nsfw_level": 0, "premium_progress_bar_enabled": False,
            "member_count": 3, "large": False, "joined_at": STAMP, "members": [member(BOT)], "presences": [],
            "voice_states": [], "threads": [], "stage_instances": [], "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "channels": [text_channel(SUPPORT_ID, "support"), text_channel(OTHER_CHANNEL_ID, "general")]}


def message(mid: int, channel_id: int, author: dict[str, Any], content: str,
            attachments: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": str(mid), "channel_id": str(channel_id), "guild_id": str(GUILD_ID), "author": author,
            "member": {k: v for k, v in member(author).items() if k != "user"}, "content": content,
            "timestamp": STAMP, "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": [], "mention_roles": [], "attachments": attachments or [], "embeds": [], "pinned": False,
            "type": 0, "flags": 0, "components": [], **extra}


def interaction(kind: int, data: dict[str, Any], who: dict[str, Any], *, locale: str = "en-US",
                channel_id: int = SUPPORT_ID, msg: dict[str, Any] | None = None) -> dict[str, Any]:
    iid = snowflake()
    payload: dict[str, Any] = {
        "id": str(iid), "application_id": str(APP_ID), "type": kind, "data": data, "guild_id": str(GUILD_ID),
        "channel": {"id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": "support",
                    "permissions": "0"},
        "channel_id": str(channel_id), "member": member(who), "token": f"token-{iid}", "version": 1,
        "locale": locale, "guild_locale": "en-US", "app_permissions": "0", "entitlements": [],
        "authorizing_integration_owners": {}, "context": 0, "attachment_size_limit": 10 * 1024 * 1024,
    }
    if msg is not None:
        payload["message"] = msg
    return payload


def slash(group: str, sub: str, who: dict[str, Any], locale: str = "en-US", **options: Any) -> dict[str, Any]:
    types = {str: 3, int: 4}
    opts = [{"name": k, "type": types[type(v)], "value": v} for k, v in options.items()]
    data = {"id": str(snowflake()), "name": group, "type": 1, "guild_id": str(GUILD_ID),
            "options": [{"name": sub, "type": 1, "options": opts}]}
    return interaction(2, data, who, locale=locale)


def autocomplete(who: dict[str, Any], typed: str, **options: str) -> dict[str, Any]:
    opts = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
    opts.append({"name": "product", "type": 3, "value": typed, "focused": True})
    data = {"id": str(snowflake()), "name": "ticket", "type": 1, "guild_id": str(GUILD_ID),
            "options": [{"name": "open", "type": 1, "options": opts}]}
    return interaction(4, data, who)


def modal_submit(modal: dict[str, Any], values: list[str], who: dict[str, Any],
                 locale: str = "en-US") -> dict[str, Any]:
    """Answer the modal the bot sent (callback type 9), filling its inputs in order."""
    rows = []
    for row, value in zip(modal["components"], values, strict=True):
        inner = row["components"][0] if row["type"] == 1 else row["component"]
        rows.append({"type": 1, "components": [{"type": 4, "custom_id": inner["custom_id"], "value": value}]})
    return interaction(5, {"custom_id": modal["custom_id"], "components": rows}, who, locale=locale)


def button_press(custom_id: str, msg: dict[str, Any], who: dict[str, Any], locale: str = "en-US",
                 channel_id: int = SUPPORT_ID) -> dict[str, Any]:
    return interaction(3, {"custom_id": custom_id, "component_type": 2}, who, locale=locale, msg=msg,
                       channel_id=channel_id)
