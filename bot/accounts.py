"""Linking a chat identity to the account that bought the licences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.commands import LinkAccount
from bot.desk import Desk
from bot.domain import Identity, Licence
from bot.effects import audit
from bot.errors import Refusal
from bot.ports import LicenceUnavailable
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
        await uow.identities.save(
            Identity(who.platform, who.user_id, account.id, who.display_name, who.locale, linked_at=now)
        )
        await uow.licences.upsert(licence)  # keep a local copy of what the source said
        await audit(uow, now, f"{who.platform}:{who.user_id}", "linked", email=email)
        await uow.commit()
    owned = owned or [licence]
    return Text("linked", {"email": email, "licences": licence_lines(owned, desk, who.locale)})
