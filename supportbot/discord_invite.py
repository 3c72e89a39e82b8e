"""`supportbot discord invite-url`: the OAuth2 URL that adds the bot with exactly its permissions."""

from __future__ import annotations

import argparse
import sys

import discord

from adapters.connect_errors import CredentialsRejected, Unreachable
from adapters.discord.invite import invite_url
from adapters.discord.lifecycle import login_only
from supportbot.settings import Settings


def application_id(text: str) -> int:
    """argparse type: a Discord id (a snowflake: 17 to 20 digits)."""
    value = text.strip()
    if not (value.isdigit() and 17 <= len(value) <= 20):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Discord application id (17 to 20 digits: Developer Portal, "
            "General Information, Application ID)")
    return int(value)


async def print_invite_url(settings: Settings, app_id: int | None) -> int:
    if app_id is None:
        if settings.discord_token is None or not settings.discord_token.get_secret_value():
            print("give --application-id, or set DISCORD_TOKEN so it can be asked from Discord", file=sys.stderr)
            return 2
        from supportbot.platforms import point_discord_at

        point_discord_at(settings)
        client = discord.Client(intents=discord.Intents(guilds=True))  # none() makes discord.py warn
        try:
            app_id = await login_only(client, settings.discord_token.get_secret_value())
        except Unreachable as exc:
            print(f"cannot reach Discord at {settings.discord_api_url} ({exc}): pass --application-id "
                  "(Developer Portal, General Information, Application ID)", file=sys.stderr)
            return 1
        except CredentialsRejected as exc:
            print(f"{exc}; or pass --application-id", file=sys.stderr)
            return 2
        finally:
            await client.close()
    print(invite_url(app_id))
    return 0
