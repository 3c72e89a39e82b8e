"""Modals and buttons. Modals keep discord.py's random custom_id (two customers filling the
form at once must never share one); the Close and Send-access buttons are persistent
(custom_id ticket:close:N, ticket:access:N)."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from adapters.discord.labels import label, say
from adapters.discord.replies import customer_of, lang, run_for, safe_reply
from bot.commands import CustomerClose, LinkAccount, OpenTicket
from bot.customers.accounts import link_account
from bot.desk import Desk
from bot.errors import Refusal
from bot.policy import ManualPage
from bot.ports import Cipher
from bot.secrets.access import parse_valid_until, submit_access
from bot.texts import Text
from bot.tickets.actions import customer_close
from bot.tickets.opening import open_ticket, suggest_manual
from bot.tickets.ticket_numbers import find_ticket
from bot.validation import clean_form

log = logging.getLogger(__name__)

MODAL_TIMEOUT = 30 * 60.0


class _Modal(discord.ui.Modal):
    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        log.exception("discord modal failed", exc_info=error)
        await safe_reply(interaction, label("apology", lang(interaction)))


class LinkModal(_Modal):
    def __init__(self, desk: Desk, locale: str) -> None:
        super().__init__(title=label("link_title", locale), timeout=MODAL_TIMEOUT)
        self.desk = desk
        self.email: discord.ui.TextInput[Any] = discord.ui.TextInput(label=label("email_label", locale),
                                                                     max_length=254)
        self.key: discord.ui.TextInput[Any] = discord.ui.TextInput(label=label("key_label", locale), max_length=200)
        self.add_item(self.email).add_item(self.key)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        cmd = LinkAccount(customer_of(interaction), self.email.value, self.key.value)
        await run_for(interaction, lambda: link_account(self.desk, cmd))


def _input(locale: str, key: str, max_length: int, long: bool = True,
           required: bool = True) -> discord.ui.TextInput[Any]:
    style = discord.TextStyle.paragraph if long else discord.TextStyle.short
    return discord.ui.TextInput(label=label(key, locale), style=style, max_length=max_length, required=required)


class TicketModal(_Modal):
    """The ticket's texts (5 inputs at most); product and versions came as command options."""

    def __init__(self, desk: Desk, locale: str, product: str, magento: str, module: str) -> None:
        super().__init__(title=label("open_title", locale), timeout=MODAL_TIMEOUT)
        self.desk, self.product, self.magento, self.module = desk, product, magento, module
        self.subject = _input(locale, "subject_label", 100, long=False)
        self.description = _input(locale, "description_label", 4000)
        self.steps = _input(locale, "steps_label", 4000)
        self.changes = _input(locale, "changes_label", 2000)
        self.errors = _input(locale, "errors_label", 4000, required=False)
        for item in (self.subject, self.description, self.steps, self.changes, self.errors):
            self.add_item(item)

    def command(self, interaction: discord.Interaction[Any]) -> OpenTicket:
        return OpenTicket(customer_of(interaction), self.product, self.subject.value, self.magento, self.module,
                          self.description.value, self.steps.value, self.changes.value, self.errors.value or "")

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        cmd = self.command(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            clean_form(cmd)  # refuse a bad form before suggesting pages for it
        except Refusal as refusal:
            await safe_reply(interaction, say(refusal.text, cmd.customer.locale))
            return
        pages = suggest_manual(self.desk, cmd.product, cmd.subject)
        if not pages:
            await run_for(interaction, lambda: _opened(self.desk, cmd))
            return
        view = SuggestionView(self.desk, cmd)
        await safe_reply(interaction, suggestion_text(pages, cmd.customer.locale), view=view)


async def _opened(desk: Desk, cmd: OpenTicket) -> Text:
    return (await open_ticket(desk, cmd)).reply


def suggestion_text(pages: list[ManualPage], locale: str) -> str:
    lines = [f"• [{discord.utils.escape_markdown(p.title)}](<{p.url}>)" for p in pages]
    return "\n".join([say(Text("manual_suggestions"), locale), *lines])


class SuggestionView(discord.ui.View):
    """Manual pages were suggested: the customer ends here, or opens the ticket anyway."""

    def __init__(self, desk: Desk, cmd: OpenTicket) -> None:
        super().__init__(timeout=MODAL_TIMEOUT)
        self.desk, self.cmd = desk, cmd
        locale = cmd.customer.locale
        answered = discord.ui.Button[SuggestionView](label=label("answers_button", locale),
                                                     style=discord.ButtonStyle.success)
        anyway = discord.ui.Button[SuggestionView](label=label("open_anyway_button", locale),
                                                   style=discord.ButtonStyle.secondary)
        answered.callback = self.answered  # type: ignore[method-assign]
        anyway.callback = self.open_anyway  # type: ignore[method-assign]
        self.add_item(answered).add_item(anyway)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return str(interaction.user.id) == self.cmd.customer.user_id

    async def answered(self, interaction: discord.Interaction[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content=label("answered_thanks", self.cmd.customer.locale), view=None)

    async def open_anyway(self, interaction: discord.Interaction[Any]) -> None:
        self.stop()
        await interaction.response.defer()  # an update of the message holding the buttons
        try:
            content = say((await open_ticket(self.desk, self.cmd)).reply, self.cmd.customer.locale)
        except Refusal as refusal:
            content = say(refusal.text, self.cmd.customer.locale)
        except Exception:
            log.exception("opening a ticket from the suggestions failed")
            content = label("apology", self.cmd.customer.locale)
        await interaction.edit_original_response(content=content, view=None)

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception,
                       item: discord.ui.Item[Any], /) -> None:
        log.exception("discord suggestion button failed", exc_info=error)
        await safe_reply(interaction, label("apology", lang(interaction)))


class CloseButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ticket:close:(?P<number>[0-9]{1,12})"):
    """The Close ticket button under a thread's summary; survives restarts (persistent)."""

    def __init__(self, number: int, locale: str = "en") -> None:
        super().__init__(discord.ui.Button(label=label("close_button", locale), style=discord.ButtonStyle.danger,
                                           custom_id=f"ticket:close:{number}"))
        self.number = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> CloseButton:
        return cls(int(match["number"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client: Any = interaction.client  # the SupportClient, which holds the desk
        desk: Desk = client.desk
        cmd = CustomerClose(customer_of(interaction), self.number)
        await run_for(interaction, lambda: customer_close(desk, cmd))


class AccessModal(_Modal):
    """The private form for temporary access: what is typed here goes to the core, encrypted
    there, and is never posted in the thread nor logged."""

    def __init__(self, desk: Desk, cipher: Cipher, locale: str, number: int) -> None:
        super().__init__(title=label("access_title", locale), timeout=MODAL_TIMEOUT)
        self.desk, self.cipher, self.number = desk, cipher, number
        self.url = _input(locale, "access_url_label", 500, long=False)
        self.login = _input(locale, "access_login_label", 200, long=False)
        self.password = _input(locale, "access_password_label", 500, long=False)
        self.notes = _input(locale, "access_notes_label", 1000, required=False)
        self.until = _input(locale, "access_until_label", 10, long=False)
        for item in (self.url, self.login, self.password, self.notes, self.until):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        async def submit() -> Text:
            until = parse_valid_until(self.until.value)
            return await submit_access(self.desk, self.cipher, customer_of(interaction), self.number,
                                       self.url.value, self.login.value, self.password.value,
                                       self.notes.value or "", until)

        await run_for(interaction, submit)


class AccessButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ticket:access:(?P<number>[0-9]{1,12})"):
    """Under staff's request for access: opens the private form, for the ticket's customer only."""

    def __init__(self, number: int, locale: str = "en") -> None:
        super().__init__(discord.ui.Button(label=label("access_button", locale), style=discord.ButtonStyle.primary,
                                           custom_id=f"ticket:access:{number}"))
        self.number = number

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> AccessButton:
        return cls(int(match["number"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client: Any = interaction.client  # the SupportClient: desk and cipher
        desk: Desk = client.desk
        cipher: Cipher | None = getattr(client, "cipher", None)
        who = customer_of(interaction)
        try:
            async with desk.uow() as uow:
                ticket = await find_ticket(uow, self.number)  # a forged id may carry any number
        except Exception:  # the customer gets a sentence, never silence
            log.exception("loading ticket #%s for the access form failed", self.number)
            await safe_reply(interaction, label("apology", who.locale))
            return
        if ticket is None or (ticket.customer_platform, ticket.customer_user_id) != (who.platform, who.user_id):
            await safe_reply(interaction, label("not_your_button", who.locale))
        elif not ticket.is_open:
            await safe_reply(interaction, say(Text("ticket_closed", {"number": self.number}), who.locale))
        elif cipher is None:
            log.error("temporary access button pressed but no cipher is wired into the Discord client")
            await safe_reply(interaction, label("apology", who.locale))
        else:
            await interaction.response.send_modal(AccessModal(desk, cipher, who.locale, self.number))


def ticket_buttons(number: int, locale: str, *, close: bool = False, access: bool = False) -> discord.ui.View | None:
    """The persistent buttons a post in the ticket thread carries, if any: Close ticket (the
    summary, the nudge), Send temporary access (staff's request)."""
    items: list[discord.ui.Item[Any]] = [CloseButton(number, locale)] if close else []
    if access:
        items.append(AccessButton(number, locale))
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view
