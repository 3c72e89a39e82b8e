"""The guild's slash commands: /support link, /ticket open|status|list|close."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.labels import label, translation
from adapters.discord.replies import customer_of, lang, reply, run_for
from adapters.discord.views import LinkModal, TicketModal
from bot.commands import Customer, CustomerClose, OpenTicket
from bot.desk import Desk
from bot.errors import Refusal
from bot.texts import render
from bot.tickets.actions import customer_close
from bot.tickets.opening import linked_account
from bot.tickets.queries import customer_list, customer_status
from bot.validation import clean_form

log = logging.getLogger(__name__)

AUTOCOMPLETE_BUDGET = 2.0  # seconds; Discord drops an autocomplete answered after 3 s


def _l(key: str) -> app_commands.locale_str:
    """A command description in English, translated for Discord by LabelTranslator."""
    return app_commands.locale_str(label(key, "en"), key=key)


class LabelTranslator(app_commands.Translator):
    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        key = string.extras.get("key")
        lang_code = str(locale).split("-")[0]
        return translation(key, lang_code) if key and lang_code != "en" else None


async def licensed_products(desk: Desk, who: Customer) -> list[tuple[str, str]]:
    """(sku, name) of the products the customer holds a licence for, as the core knows them."""
    async with desk.uow() as uow:
        identity = await uow.identities.get(who.platform, who.user_id)
        account = await uow.accounts.get(identity.account_id) if identity else None
    if account is None:
        return []
    skus = {lic.product for lic in await desk.licences.for_email(account.email)}
    products = (desk.policy.product(sku) for sku in sorted(skus))
    return [(p.sku, p.name) for p in products if p is not None]


def catalogue(desk: Desk) -> list[tuple[str, str]]:
    """(sku, name) of every product supported."""
    return [(p.sku, p.name) for p in desk.policy.products.values()]


def resolve_product(desk: Desk, typed: str) -> str | None:
    """The sku of a product chosen from the autocomplete, or typed as its sku or name."""
    wanted = typed.strip().lower()
    return next((sku for sku, name in catalogue(desk) if wanted in (sku, name.lower())), None)


async def precheck_open(desk: Desk, who: Customer, product: str, magento: str, module: str) -> None:
    """Refuse before the form when we already can: unlinked, or versions that will not pass."""
    async with desk.uow() as uow:
        await linked_account(uow, who)
    clean_form(OpenTicket(who, product, "-", magento, module, "-", "-", "-"))


def register(tree: app_commands.CommandTree[Any], desk: Desk, guild: discord.abc.Snowflake) -> None:
    support = app_commands.Group(name="support", description=_l("cmd_support"), guild_only=True)
    ticket = app_commands.Group(name="ticket", description=_l("cmd_ticket"), guild_only=True)

    @support.command(name="link", description=_l("cmd_link"))
    async def link(interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(LinkModal(desk, lang(interaction)))

    @ticket.command(name="open", description=_l("cmd_open"))
    @app_commands.describe(product=_l("opt_product"), magento=_l("opt_magento"), module=_l("opt_module"))
    async def open_(interaction: discord.Interaction[Any], product: str, magento: str, module: str) -> None:
        who = customer_of(interaction)
        sku = resolve_product(desk, product)
        if sku is None:  # typed instead of chosen: say so now, not after the whole form
            await reply(interaction, label("unknown_product", who.locale, product=product[:100]))
            return
        try:
            await precheck_open(desk, who, sku, magento, module)
        except Refusal as refusal:
            await reply(interaction, render(refusal.text, who.locale))
            return
        await interaction.response.send_modal(TicketModal(desk, who.locale, sku, magento, module))

    @open_.autocomplete("product")
    async def product_choices(interaction: discord.Interaction[Any],
                              current: str) -> list[app_commands.Choice[str]]:
        try:
            owned = await asyncio.wait_for(licensed_products(desk, customer_of(interaction)), AUTOCOMPLETE_BUDGET)
        except Exception:  # slow or failing licence source: every product (the core checks the licence)
            log.warning("product autocomplete failed", exc_info=True)
            owned = catalogue(desk)
        typed = current.strip().lower()
        return [app_commands.Choice(name=name[:100], value=sku) for sku, name in owned
                if typed in name.lower() or typed in sku][:25]

    @ticket.command(name="status", description=_l("cmd_status"))
    @app_commands.describe(number=_l("opt_number"))
    async def status(interaction: discord.Interaction[Any], number: app_commands.Range[int, 1] | None = None) -> None:
        await run_for(interaction, lambda: customer_status(desk, customer_of(interaction), number))

    @ticket.command(name="list", description=_l("cmd_list"))
    async def list_(interaction: discord.Interaction[Any]) -> None:
        await run_for(interaction, lambda: customer_list(desk, customer_of(interaction)))

    @ticket.command(name="close", description=_l("cmd_close"))
    @app_commands.describe(number=_l("opt_number"))
    async def close(interaction: discord.Interaction[Any], number: app_commands.Range[int, 1] | None = None) -> None:
        await run_for(interaction, lambda: customer_close(desk, CustomerClose(customer_of(interaction), number)))

    tree.add_command(support, guild=guild)
    tree.add_command(ticket, guild=guild)


async def on_tree_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
    log.error("discord command failed", exc_info=error)
    try:
        await reply(interaction, label("apology", lang(interaction)))
    except discord.HTTPException:
        log.exception("could not apologise for interaction %s", interaction.id)


__all__ = ["LabelTranslator", "catalogue", "licensed_products", "on_tree_error", "register", "resolve_product"]
