"""The OAuth2 URL that invites the bot with exactly the permissions it uses."""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")


def bot_permissions() -> discord.Permissions:
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_private_threads=True,
        manage_threads=True,  # add the customer, archive and lock, unarchive idle threads
        read_message_history=True,
        attach_files=True,  # copies of staff attachments
        embed_links=True,
        manage_messages=True,  # delete a message carrying a pasted secret
    )


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=bot_permissions(), scopes=SCOPES)
