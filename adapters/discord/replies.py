"""Answering interactions: who is asking, in which language, and an ephemeral reply that never
shows a traceback (a Refusal becomes its sentence, anything else a short apology)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.labels import label, say
from bot.commands import Customer
from bot.errors import Refusal
from bot.texts import Text, language_of

log = logging.getLogger(__name__)

PLATFORM = "discord"


def lang(interaction: discord.Interaction[Any]) -> str:
    """'fr' for a French client, 'en' for anything we have no templates for."""
    return language_of(str(interaction.locale))


def customer_of(interaction: discord.Interaction[Any]) -> Customer:
    user = interaction.user
    return Customer(PLATFORM, str(user.id), user.display_name, lang(interaction))


async def reply(interaction: discord.Interaction[Any], content: str, **kwargs: Any) -> None:
    """Ephemeral answer, whether or not the interaction was already answered or deferred."""
    content = content[:2000]
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)


async def run_for(interaction: discord.Interaction[Any],
                  work: Callable[[], Awaitable[Text | None]]) -> None:
    """Defer (the core may take longer than Discord's 3 s), run the use case, answer ephemerally."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        text = await work()
    except Refusal as refusal:
        text = refusal.text
    except Exception:
        log.exception("discord interaction %s failed", interaction.id)
        await safe_reply(interaction, label("apology", lang(interaction)))
        return
    if text is not None:
        await safe_reply(interaction, say(text, lang(interaction)))


async def safe_reply(interaction: discord.Interaction[Any], content: str, **kwargs: Any) -> None:
    try:
        await reply(interaction, content, **kwargs)
    except discord.HTTPException:
        log.exception("could not answer discord interaction %s", interaction.id)
