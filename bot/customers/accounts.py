"""Linking a chat identity to the account that bought the licences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.commands import LinkAccount
from bot.delivery.effects import audit, emit
from bot.desk import Desk
from bot.domain import Identity, Licence, Target
from bot.errors import Refusal
from bot.ports import LicenceUnavailable, UnitOfWork
from bot.texts import Text, render

THROTTLE_WINDOW = timedelta(hours=1)


def last_valid_day(expires_at: datetime) -> str:
    """Licences run through their last day: one that expires at midnight was valid the day before."""
    return f"{(expires_at - timedelta(seconds=1)).astimezone(UTC):%Y-%m-%d}"


def licence_lines(licences: list[Licence], desk: Desk, locale: str) -> str:
    now = desk.clock.now()
    lines = []
    for lic in sorted(licences, key=lambda item: item.product):
        product = desk.policy.product(lic.product)
        key = "licence_valid_line" if lic.valid_at(now) else "licence_expired_line"
        params = {"name": product.name if product else lic.product, "sku": lic.product,
                  "date": last_valid_day(lic.expires_at)}
        lines.append(render(Text(key, params), locale))
    return "\n".join(lines) or "-"


async def link_account(desk: Desk, cmd: LinkAccount) -> Text:
    now = desk.clock.now()
    who = cmd.customer
    email = cmd.email.strip().lower()
    key = cmd.key.strip()
    if "@" not in email or not key:
        raise Refusal("link_missing_fields")
    async with desk.uow() as uow:
        failures = await uow.link_attempts.since(who.platform, who.user_id, now - THROTTLE_WINDOW)
    limit = desk.policy.link_attempts_per_hour
    if len(failures) >= limit:
        retry_at = failures[len(failures) - limit] + THROTTLE_WINDOW
        raise Refusal("link_throttled", retry_at=desk.policy.calendar.format_local(retry_at, who.locale))
    try:
        licence = await desk.licences.lookup(key)
        owned = list(await desk.licences.for_email(email)) if licence else []
    except LicenceUnavailable:
        raise Refusal("licence_unavailable") from None
    async with desk.uow() as uow:
        if licence is None or licence.email.lower() != email:
            await uow.link_attempts.add(who.platform, who.user_id, now)
            await audit(uow, now, f"{who.platform}:{who.user_id}", "link_failed")
            await uow.commit()
            raise Refusal("link_failed", left=max(limit - len(failures) - 1, 0))
        account = await uow.accounts.get_or_create(email)
        assert account.id is not None
        identity = Identity(who.platform, who.user_id, account.id, who.display_name, who.locale, linked_at=now)
        await _tell_account_of_newcomer(uow, identity, now)
        await uow.identities.save(identity)
        await uow.licences.upsert(licence)  # keep a local copy of what the source said
        await audit(uow, now, f"{who.platform}:{who.user_id}", "linked", email=email)
        await uow.commit()
    owned = owned or [licence]
    return Text("linked", {"email": email, "licences": licence_lines(owned, desk, who.locale)})


async def _tell_account_of_newcomer(uow: UnitOfWork, newcomer: Identity, now: datetime) -> None:
    """Anyone with the e-mail and a key can link (that is how licences work): when a second
    identity joins an account, its first identity hears of it by DM, and the cards of the
    account's open tickets are redrawn to list every identity (adapters show them to staff)."""
    before = await uow.identities.get(newcomer.platform, newcomer.user_id)
    if before is not None and before.account_id == newcomer.account_id:
        return  # linking again: nobody new
    others = [i for i in await uow.identities.for_account(newcomer.account_id)
              if (i.platform, i.user_id) != (newcomer.platform, newcomer.user_id)]
    if not others:
        return
    first = others[0]
    account = await uow.accounts.get(newcomer.account_id)
    text = Text("identity_linked_notice", {"name": newcomer.display_name or newcomer.user_id,
                                           "email": account.email if account else "-"})
    await emit(uow, now, Target.CUSTOMER, "dm_user", None, text=text, platform=first.platform,
               user_id=first.user_id, locale=first.locale)
    await audit(uow, now, f"{newcomer.platform}:{newcomer.user_id}", "identity_added",
                told=f"{first.platform}:{first.user_id}", account_id=newcomer.account_id)
    for ticket in await uow.tickets.open_for_account(newcomer.account_id):
        await emit(uow, now, Target.STAFF, "card_update", ticket)


async def linked_identities(uow: UnitOfWork, account_id: int) -> list[Identity]:
    """Every chat identity linked to the account, first linked first (staff see them on cards)."""
    return await uow.identities.for_account(account_id)
