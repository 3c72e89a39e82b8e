"""Satisfaction on Discord: 1-5 buttons under the closing message (persistent, custom_id
ticket:rate:N:S), then a form with an optional comment. The core decides who may rate, once, in time."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from adapters.discord.labels import label, say
from adapters.discord.replies import customer_of, lang, run_for, safe_reply
from bot.desk import Desk
from bot.errors import Refusal
from bot.tickets.satisfaction import COMMENT_LIMIT, SCORES, check_rating, rate

log = logging.getLogger(__name__)
MODAL_TIMEOUT = 30 * 60.0


class RatingModal(discord.ui.Modal):
    def __init__(self, desk: Desk, number: int, score: int, locale: str) -> None:
        super().__init__(title=label("rating_title", locale, score=score), timeout=MODAL_TIMEOUT)
        self.desk, self.number, self.score = desk, number, score
        self.comment: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label("rating_comment_label", locale), style=discord.TextStyle.paragraph,
            max_length=COMMENT_LIMIT, required=False)
        self.add_item(self.comment)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        who = customer_of(interaction)
        await run_for(interaction, lambda: rate(self.desk, who, self.number, self.score, self.comment.value or ""))

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        log.exception("discord rating form failed", exc_info=error)
        await safe_reply(interaction, label("apology", lang(interaction)))


class RateButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                 template=r"ticket:rate:(?P<number>\d+):(?P<score>[1-5])"):
    def __init__(self, number: int, score: int) -> None:
        super().__init__(discord.ui.Button(label=str(score), style=discord.ButtonStyle.secondary,
                                           custom_id=f"ticket:rate:{number}:{score}"))
        self.number, self.score = number, score

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> RateButton:
        return cls(int(match["number"]), int(match["score"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client: Any = interaction.client  # the SupportClient, which holds the desk
        desk: Desk = client.desk
        who = customer_of(interaction)
        try:
            await check_rating(desk, who, self.number)
        except Refusal as refusal:
            await safe_reply(interaction, say(refusal.text, who.locale))
            return
        except Exception:
            log.exception("checking the rating of ticket #%s failed", self.number)
            await safe_reply(interaction, label("apology", who.locale))
            return
        await interaction.response.send_modal(RatingModal(desk, self.number, self.score, who.locale))


def rating_buttons(number: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for score in SCORES:
        view.add_item(RateButton(number, score))
    return view
