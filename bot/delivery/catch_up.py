"""Where to resume reading ticket threads after the bot was away.

A platform replays what it missed only in some cases (a Discord RESUME, Slack's retries for a
few minutes); messages written during a longer absence or a new gateway session exist only in
the thread's history. The adapters read each open ticket's thread after the newest message
the desk already knows, and feed what they find through the same path as live messages
(deduplicated by message id), most recently active tickets first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.desk import Desk
from bot.domain import Target, Ticket


@dataclass(frozen=True)
class OpenThread:
    number: int
    thread_ref: str
    known_refs: tuple[str, ...]  # platform ids of the messages this side's people wrote, already stored
    # those of them stored before the connection came back: where reading resumes (see open_threads)
    resume_refs: tuple[str, ...]


def _last_active(ticket: Ticket, authored: list[tuple[str, datetime]]) -> datetime:
    """The latest of the ticket's changes and of the messages its people wrote on this side."""
    moments = [ticket.opened_at, ticket.waiting_since, ticket.first_response_at, *(at for _, at in authored)]
    return max(m for m in moments if m is not None)


async def open_threads(desk: Desk, side: str, stored_before: datetime | None = None) -> list[OpenThread]:
    """Open tickets that have a thread on `side` ("customer" or "staff"), most recently active first.
    `stored_before`: the moment the platform connection came back. Live messages flow from then
    on, and one stored before the catch-up reads its thread must not become the resume point:
    the missed messages are older than it."""
    column = "customer_thread_ref" if side == "customer" else "staff_thread_ref"
    async with desk.uow() as uow:
        tickets = [t for t in await uow.tickets.list_open() if getattr(t, column) and t.id is not None]
        refs = await uow.messages.authored_refs([t.id for t in tickets if t.id is not None], side)
    tickets.sort(key=lambda t: _last_active(t, refs.get(t.id or 0, [])), reverse=True)

    def thread(ticket: Ticket) -> OpenThread:
        known = refs.get(ticket.id or 0, [])
        early = [ref for ref, stored in known if stored_before is None or stored < stored_before]
        return OpenThread(ticket.number, getattr(ticket, column), tuple(ref for ref, _ in known), tuple(early))

    return [thread(t) for t in tickets]


async def adopt_card_thread(desk: Desk, row_id: int, thread_ref: str) -> bool:
    """A staff reply came in a thread the desk does not know, under a message that says it is
    the card of outbox row `row_id`: the card was posted but its delivery not yet recorded (our
    commit follows Slack's answer; a crash may fall in between). Record it now, so the reply is
    relayed rather than taken for staff talking among themselves. False if it is no such card."""
    async with desk.uow() as uow:
        item = await uow.outbox.get(row_id)
        if item is None or item.target is not Target.STAFF or item.action != "card" or item.ticket_id is None:
            return False
        ticket = await uow.tickets.get_for_update(item.ticket_id)
        if ticket is None or ticket.staff_thread_ref not in (None, thread_ref):
            return False  # the ticket's card is another message (a card posted twice)
        if ticket.staff_thread_ref is None:
            await uow.tickets.set_ref(item.ticket_id, "staff_thread_ref", thread_ref)
            await uow.commit()
    return True
