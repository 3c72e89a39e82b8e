"""The SLA report: answer times in working hours against the promise, per product and per staff member.

Definitions (the README repeats them):
- A ticket waits for staff from its opening, and again from each customer message that follows a
  staff answer; the wait ends at the next staff answer. Waits are measured in working time
  (the business calendar). The first wait is the first answer; later ones are next answers.
- Opened, first answers and their share within the promise count tickets opened in the period; a
  ticket still without an answer at the period's end whose wait already exceeds the promise counts
  as a breach and as not within the promise. Next answers count answers given in the period.
- Closed, time to close (calendar time), closes by reason and satisfaction count tickets closed in
  the period.
- Each ticket belongs to its assignee, else to whoever answered it first; next answers belong to
  whoever gave them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.domain import Message, MessageKind, Ticket
from bot.reporting.figures import Spread
from bot.time.calendar import BusinessCalendar

UNASSIGNED = "(nobody)"


@dataclass(frozen=True)
class Wait:
    start: datetime
    end: datetime | None  # None: not answered (yet, or before the close)
    by: str | None  # staff id of who answered
    first: bool


@dataclass(frozen=True)
class Breach:
    number: int
    what: str  # "first answer", "next answer", "no answer yet"
    waited: timedelta


@dataclass(frozen=True)
class Figures:
    """One line of the report: everything, one product, or one staff member."""

    name: str
    opened: int = 0
    closed: int = 0
    first_answer: Spread = Spread()
    within_promise: int = 0
    measured: int = 0  # first answers measured, plus tickets unanswered past the promise
    next_answer: Spread = Spread()
    to_close: Spread = Spread()
    closes: dict[str, int] = field(default_factory=dict)
    rating_average: float | None = None
    ratings: int = 0
    breaches: tuple[Breach, ...] = ()

    @property
    def share_within(self) -> float | None:
        return self.within_promise / self.measured if self.measured else None


@dataclass(frozen=True)
class Day:
    day: date  # local date
    opened: int
    first_answer_hours: float | None  # average first answer (working hours) of tickets opened that day
    share_within: float | None


@dataclass(frozen=True)
class SlaReport:
    since: datetime
    until: datetime
    promise: timedelta
    overall: Figures
    products: tuple[Figures, ...]
    staff: tuple[Figures, ...]
    days: tuple[Day, ...]
    staff_names: dict[str, str] = field(default_factory=dict)


def waits_of(ticket: Ticket, messages: Iterable[Message]) -> list[Wait]:
    """The ticket's waits for staff, from its messages (customer and staff, in order)."""
    waits: list[Wait] = []
    start: datetime | None = ticket.opened_at
    for m in sorted(messages, key=lambda m: (m.created_at, m.id or 0)):
        if m.kind is MessageKind.STAFF and start is not None:
            end = m.created_at
            if not waits and ticket.first_response_at is not None:
                end = ticket.first_response_at  # the ticket's own record of its first answer
            waits.append(Wait(start, end, m.author_id, not waits))
            start = None
        elif m.kind is MessageKind.CUSTOMER and start is None:
            start = m.created_at
    if start is not None:
        waits.append(Wait(start, None, None, not waits))
    return waits


@dataclass
class _Acc:
    """What one line of the report is summed from."""

    opened: list[Ticket] = field(default_factory=list)
    closed: list[Ticket] = field(default_factory=list)
    first: list[tuple[Ticket, timedelta]] = field(default_factory=list)
    late_unanswered: list[Breach] = field(default_factory=list)
    next: list[tuple[Ticket, timedelta]] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)

    def figures(self, name: str, promise: timedelta) -> Figures:
        breaches = [Breach(t.number, "first answer", w) for t, w in self.first if w > promise]
        breaches += [Breach(t.number, "next answer", w) for t, w in self.next if w > promise]
        breaches += self.late_unanswered
        firsts = [w for _, w in self.first]
        to_close = [t.closed_at - t.opened_at for t in self.closed if t.closed_at]
        reasons = Counter(t.close_reason.value for t in self.closed if t.close_reason)
        return Figures(
            name, len(self.opened), len(self.closed), Spread.of(firsts), sum(1 for w in firsts if w <= promise),
            len(firsts) + len(self.late_unanswered), Spread.of([w for _, w in self.next]), Spread.of(to_close),
            dict(sorted(reasons.items())), sum(self.ratings) / len(self.ratings) if self.ratings else None,
            len(self.ratings), tuple(sorted(breaches, key=lambda b: (b.number, b.what))))


def build_report(cal: BusinessCalendar, promise: timedelta, since: datetime, until: datetime,
                 tickets: Iterable[Ticket], messages: dict[int, list[Message]],
                 ratings: dict[int, int] | None = None) -> SlaReport:
    """The report for [since, until) over `tickets` (any that may matter: opened, closed or active
    in the period) and their messages by ticket number; `ratings` are satisfaction scores by ticket."""
    ratings = ratings or {}
    overall, products, staff = _Acc(), dict[str, _Acc](), dict[str, _Acc]()
    names: dict[str, str] = {}
    per_day: dict[date, _Acc] = {}
    in_period = lambda t: t is not None and since <= t < until  # noqa: E731
    for ticket in sorted(tickets, key=lambda t: t.number):
        msgs = messages.get(ticket.number, [])
        names.update({m.author_id: m.author_name for m in msgs if m.kind in (MessageKind.STAFF, MessageKind.NOTE)})
        waits = waits_of(ticket, msgs)
        first_by = next((w.by for w in waits if w.first), None)
        owner = ticket.assignee or first_by or UNASSIGNED
        closer = ticket.closed_by.removeprefix("staff:") if ticket.closed_by and ticket.closed_by.startswith("staff:") else None
        lines = [overall, products.setdefault(ticket.product, _Acc()), staff.setdefault(owner, _Acc())]
        if closer:
            staff.setdefault(closer, _Acc())  # a staff member who only closed still gets a line
        if in_period(ticket.opened_at):
            on_day = per_day.setdefault(cal.local(ticket.opened_at).date(), _Acc())
            for acc in (*lines, on_day):
                acc.opened.append(ticket)
            _first_answer(cal, promise, ticket, waits, until, [*lines, on_day])
        if in_period(ticket.closed_at):
            for acc in lines:
                acc.closed.append(ticket)
                if ticket.number in ratings:
                    acc.ratings.append(ratings[ticket.number])
        for wait in waits:
            if not wait.first and wait.end is not None and wait.by and in_period(wait.end):
                waited = cal.working_time_between(wait.start, wait.end)
                for acc in (overall, products[ticket.product], staff.setdefault(wait.by, _Acc())):
                    acc.next.append((ticket, waited))
    days = []
    day = cal.local(since).date()
    while day <= cal.local(until - timedelta(microseconds=1)).date():
        acc = per_day.get(day, _Acc())
        fig = acc.figures("", promise)
        hours = fig.first_answer.average.total_seconds() / 3600 if fig.first_answer.average is not None else None
        days.append(Day(day, fig.opened, hours, fig.share_within))
        day += timedelta(days=1)
    return SlaReport(
        since, until, promise, overall.figures("All products", promise),
        tuple(acc.figures(sku, promise) for sku, acc in sorted(products.items())),
        tuple(acc.figures(names.get(who, who), promise)
              for who, acc in sorted(staff.items(), key=lambda item: (item[0] == UNASSIGNED, names.get(item[0], item[0])))),
        tuple(days), names)


def _first_answer(cal: BusinessCalendar, promise: timedelta, ticket: Ticket, waits: list[Wait], until: datetime,
                  accs: list[_Acc]) -> None:
    first = waits[0] if waits else None
    if first is not None and first.end is not None and first.end < until:
        waited = cal.working_time_between(first.start, first.end)
        for acc in accs:
            acc.first.append((ticket, waited))
        return
    # not answered by the end of the period (nor before a close): a breach once past the promise
    end = min(x for x in (until, ticket.closed_at) if x is not None)
    waited = cal.working_time_between(ticket.opened_at, end)
    if waited > promise:
        for acc in accs:
            acc.late_unanswered.append(Breach(ticket.number, "no answer yet" if ticket.is_open else "no answer", waited))
