"""Which tickets a staff member may see and act on (the policy's [desk] staff_scope).

"product" (the default): the tickets of the products whose staff channel they are a member of.
"desk": every ticket. Temporary access is stricter whatever the scope: only the staff of the
ticket's own product may read it.
"""

from __future__ import annotations

from bot.commands import Staff
from bot.domain import Ticket
from bot.errors import Refusal
from bot.policy import Policy


def visible_channels(policy: Policy, staff: Staff) -> frozenset[str] | None:
    """The staff channels whose tickets this person sees; None means every channel."""
    return None if policy.staff_scope == "desk" else staff.channels


def may_act(policy: Policy, staff: Staff, ticket: Ticket) -> bool:
    channels = visible_channels(policy, staff)
    return channels is None or ticket.staff_channel in channels


def check_may_act(policy: Policy, staff: Staff, ticket: Ticket) -> None:
    if not may_act(policy, staff, ticket):
        raise Refusal("staff_out_of_scope", number=ticket.number, channel=ticket.staff_channel)


def may_view_access(staff: Staff, ticket: Ticket) -> bool:
    """Only the ticket's product's staff, whatever the scope."""
    return ticket.staff_channel in staff.channels
