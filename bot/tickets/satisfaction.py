"""Satisfaction: after a close that was not by inactivity, the ticket's customer may rate it 1-5 (with
an optional comment), once, within the policy's window. Staff see it on the card and in the report."""

from __future__ import annotations

from datetime import datetime

from bot.commands import Customer
from bot.delivery.effects import audit, emit
from bot.desk import Desk
from bot.domain import CloseReason, Rating, Target, Ticket
from bot.errors import Refusal
from bot.ports import UnitOfWork
from bot.texts import Text
from bot.tickets.opening import linked_account

SCORES = range(1, 6)
COMMENT_LIMIT = 1000


def offered(desk: Desk, ticket: Ticket) -> bool:
    return desk.policy.rating_window is not None and ticket.close_reason is not CloseReason.INACTIVITY


async def ask_for_rating(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    """The 1-5 buttons in the customer's thread, sent with the close (before the thread is locked)."""
    if offered(desk, ticket):
        await emit(uow, now, Target.CUSTOMER, "post", ticket, text=Text("rating_request", {"number": ticket.number}),
                   rating_buttons=True)


async def _ticket_to_rate(uow: UnitOfWork, who: Customer, number: int | None, account_id: int) -> Ticket:
    if number is None:  # the customer's last closed ticket
        closed = [t for t in await uow.tickets.for_account(account_id) if not t.is_open]
        if not closed:
            raise Refusal("rating_nothing_closed")
        return closed[0]
    ticket = await uow.tickets.get(number)
    if ticket is None or (ticket.customer_platform, ticket.customer_user_id) != (who.platform, who.user_id):
        raise Refusal("unknown_ticket", number=number)  # someone else's ticket is never revealed
    return ticket


async def _rateable(uow: UnitOfWork, desk: Desk, who: Customer, number: int | None, now: datetime) -> Ticket:
    """The ticket `who` may rate now; a Refusal says why not (someone else's, open, too late, rated)."""
    account_id, _ = await linked_account(uow, who)
    ticket = await _ticket_to_rate(uow, who, number, account_id)
    window = desk.policy.rating_window
    if ticket.is_open or ticket.closed_at is None:
        raise Refusal("rating_not_closed", number=ticket.number)
    if not offered(desk, ticket) or window is None:
        raise Refusal("rating_not_offered", number=ticket.number)
    if now > ticket.closed_at + window:
        raise Refusal("rating_too_late", number=ticket.number)
    assert ticket.id is not None
    if await uow.ratings.get(ticket.id) is not None:
        raise Refusal("rating_already", number=ticket.number)
    return ticket


async def check_rating(desk: Desk, who: Customer, number: int) -> None:
    """Refuse before showing the comment form, rather than after it was filled in."""
    async with desk.uow() as uow:
        await _rateable(uow, desk, who, number, desk.clock.now())


async def rate(desk: Desk, who: Customer, number: int | None, score: int, comment: str = "") -> Text:
    if score not in SCORES:
        raise Refusal("rating_bad_score")
    now = desk.clock.now()
    comment = " ".join(comment.split())[:COMMENT_LIMIT]
    async with desk.uow() as uow:
        ticket = await _rateable(uow, desk, who, number, now)
        assert ticket.id is not None
        rating = Rating(ticket.id, score, comment, now, f"{who.platform}:{who.user_id}")
        if not await uow.ratings.add(rating):
            raise Refusal("rating_already", number=ticket.number)
        await emit(uow, now, Target.STAFF, "card_update", ticket, rating=score, comment=comment)
        await emit(uow, now, Target.STAFF, "post", ticket, text=Text("rating_note", {
            "name": ticket.customer_name, "score": score, "comment": f": {comment}" if comment else "."}))
        await audit(uow, now, rating.rated_by, "rated", ticket, score=score)
        await uow.commit()
    return Text("rating_thanks", {"number": ticket.number})
