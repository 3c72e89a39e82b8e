"""Opening a ticket: licence check, the one-subject rule, the form, the answer promise."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, utils

from bot.commands import Customer, OpenTicket
from bot.customers.accounts import last_valid_day, licence_lines
from bot.delivery.effects import audit, emit
from bot.desk import Desk
from bot.domain import Licence, Target, Ticket
from bot.errors import Refusal
from bot.policy import ManualPage
from bot.ports import LicenceUnavailable, UnitOfWork
from bot.texts import Text
from bot.tickets.conversation import tell_if_closed_now
from bot.time import deadlines
from bot.time.durations import format_duration
from bot.validation import clean_form


@dataclass(frozen=True)
class Opened:
    number: int
    reply: Text


def suggest_manual(desk: Desk, product_sku: str, subject: str, limit: int = 3) -> list[ManualPage]:
    """Manual pages whose title or keywords match the subject, best first."""
    product = desk.policy.product(product_sku)
    if product is None or not subject.strip():
        return []
    words = set(utils.default_process(subject).split())
    scored = []
    for page in product.manual:
        keyword_hits = sum(1 for k in page.keywords if k.lower() in words)
        title_score = fuzz.token_set_ratio(subject, page.title, processor=utils.default_process)
        if keyword_hits or title_score >= 80:
            scored.append((keyword_hits * 100 + title_score, page))
    scored.sort(key=lambda pair: -pair[0])
    return [page for _, page in scored[:limit]]


async def linked_account(uow: UnitOfWork, who: Customer) -> tuple[int, str]:
    identity = await uow.identities.get(who.platform, who.user_id)
    account = await uow.accounts.get(identity.account_id) if identity else None
    if identity is None or account is None:
        raise Refusal("not_linked")
    return identity.account_id, account.email


async def _licence_for(desk: Desk, email: str, sku: str, locale: str) -> Licence:
    try:
        owned = list(await desk.licences.for_email(email))
    except LicenceUnavailable:
        raise Refusal("licence_unavailable") from None
    now = desk.clock.now()
    product = desk.policy.product(sku)
    for_product = sorted((lic for lic in owned if lic.product == sku), key=lambda lic: lic.expires_at)
    if product is None or not for_product:
        raise Refusal("product_not_owned", product=sku, licences=licence_lines(owned, desk, locale))
    licence = for_product[-1]
    if not licence.valid_at(now):
        raise Refusal(
            "licence_expired",
            product=product.name,
            expired_on=last_valid_day(licence.expires_at),
            renew_url=desk.policy.renew_url or "-",
        )
    return licence


def _same_subject(desk: Desk, subject: str, open_tickets: list[Ticket]) -> Ticket | None:
    for ticket in open_tickets:
        score = fuzz.token_set_ratio(subject, ticket.subject, processor=utils.default_process)
        if score >= desk.policy.subject_similarity:
            return ticket
    return None


async def open_ticket(desk: Desk, cmd: OpenTicket) -> Opened:
    who = cmd.customer
    async with desk.uow() as uow:
        account_id, email = await linked_account(uow, who)
    form = clean_form(cmd)
    licence = await _licence_for(desk, email, cmd.product, who.locale)
    product = desk.policy.products[cmd.product]
    cal = desk.policy.calendar
    now = desk.clock.now()
    async with desk.uow() as uow:
        await uow.accounts.lock(account_id)  # a concurrent open by the same customer waits here
        open_tickets = await uow.tickets.open_for_account(account_id)
        same = _same_subject(desk, form["subject"], open_tickets)
        if same is not None:
            raise Refusal("duplicate_subject", number=same.number, subject=same.subject)
        if len(open_tickets) >= desk.policy.open_tickets_per_customer:
            raise Refusal(
                "too_many_open",
                limit=desk.policy.open_tickets_per_customer,
                numbers=", ".join(f"#{t.number}" for t in open_tickets),
            )
        ticket = Ticket(
            account_id=account_id,
            customer_platform=who.platform,
            customer_user_id=who.user_id,
            customer_name=who.display_name or who.user_id,
            customer_email=email,
            product=product.sku,
            opened_at=now,
            licence_expires_at=licence.expires_at,
            licence_check_at=licence.expires_at,
            staff_channel=product.staff_channel,
            locale=who.locale,
            subject=form["subject"], magento_version=form["magento_version"],
            module_version=form["module_version"], description=form["description"],
            steps=form["steps"], changes=form["changes"], errors=form["errors"],
        )
        deadlines.await_staff(ticket, now, desk.policy, first=True)
        ticket = await uow.tickets.add(ticket)
        promise = {
            "number": ticket.number,
            "subject": ticket.subject,
            "product": product.name,
            "deadline": cal.format_local(ticket.sla_due_at or now, who.locale),
            "hours": cal.describe_hours(who.locale),
            "promise": format_duration(desk.policy.sla.response),
        }
        closed_note = "" if cal.is_open(now) else cal.format_local(cal.next_opening(now), who.locale)
        await emit(uow, now, Target.STAFF, "card", ticket)
        await emit(uow, now, Target.CUSTOMER, "open_thread", ticket, text=Text("thread_summary", promise))
        await tell_if_closed_now(uow, desk, ticket, now)
        await audit(uow, now, f"{who.platform}:{who.user_id}", "opened", ticket, product=product.sku)
        await uow.commit()
    reply = Text("opened_closed" if closed_note else "opened", {**promise, "opening": closed_note})
    return Opened(ticket.number, reply)
