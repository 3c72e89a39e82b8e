"""Which ticket a customer means when they name none, and their own open ticket by number."""

from __future__ import annotations

from bot.commands import Customer
from bot.desk import Desk
from bot.domain import Ticket
from bot.errors import Refusal
from bot.ports import UnitOfWork
from bot.tickets.ticket_numbers import find_ticket


def the_only_one(mine: list[Ticket]) -> Ticket:
    """The customer's one open ticket; with none or several they must say which."""
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise Refusal("no_open_ticket")
    raise Refusal("which_ticket", numbers=", ".join(f"#{t.number}" for t in mine))


async def own_open_ticket(uow: UnitOfWork, who: Customer, number: int | None, account_id: int | None) -> Ticket:
    """The customer's open ticket `number` (their only open one if None), locked for this
    transaction. Someone else's ticket is refused as unknown: never reveal it."""
    if number is None:
        mine = await uow.tickets.open_for_account(account_id) if account_id is not None else []
        number = the_only_one(mine).number
    ticket = await find_ticket(uow, number, lock=True)
    if ticket is None or (ticket.customer_platform, ticket.customer_user_id) != (who.platform, who.user_id):
        raise Refusal("unknown_ticket", number=number)
    if not ticket.is_open:
        raise Refusal("ticket_closed", number=number)
    return ticket


async def record_customer_thread(desk: Desk, ticket_number: int, ref: str) -> None:
    """Note the ticket's thread the moment the platform created it, before anything is posted
    in it: a message the customer writes there is found even if the first post failed."""
    async with desk.uow() as uow:
        await uow.tickets.set_ref(ticket_number, "customer_thread_ref", ref)
        await uow.commit()
