"""The SLA report's numbers on a hand-computed week that spans a weekend and a holiday.

Calendar: Mon-Fri 09:00-12:00 and 14:00-18:00 at UTC+01:00, Friday 25 December 2026 a holiday.
Period: Mon 21 to Mon 28 December 2026 (both included). Hand computations are in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from bot.domain import CloseReason, Message, MessageKind, Ticket, TicketStatus
from bot.reporting.figures import Spread, percentile
from bot.reporting.report_text import report_csv, report_text
from bot.reporting.sla import Breach, build_report
from bot.time.calendar import BusinessCalendar

TZ = timezone(timedelta(hours=1))
DAY = [(time(9), time(12)), (time(14), time(18))]
CAL = BusinessCalendar(TZ, {d: DAY for d in range(5)}, holidays=[date(2026, 12, 25)])
H = timedelta(hours=1)
M = timedelta(minutes=1)
SINCE = datetime(2026, 12, 21, tzinfo=TZ)
UNTIL = datetime(2026, 12, 29, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def ticket(number: int, product: str, opened: datetime, first: datetime | None = None, assignee: str | None = None,
           closed: datetime | None = None, reason: CloseReason | None = None, by: str | None = None) -> Ticket:
    return Ticket(account_id=1, customer_platform="discord", customer_user_id="u", customer_name="Alice",
                  customer_email="a@example.com", product=product, subject=f"s{number}", magento_version="2.4.6",
                  module_version="1.0.0", description="d", steps="s", changes="c", errors="", opened_at=opened,
                  licence_expires_at=at(31, 0), staff_channel="support", assignee=assignee,
                  first_response_at=first, closed_at=closed, close_reason=reason, closed_by=by,
                  status=TicketStatus.CLOSED if closed else TicketStatus.AWAITING_STAFF, id=number)


def msg(number: int, kind: MessageKind, who: str, when: datetime) -> Message:
    names = {"s-bob": "Bob", "s-cat": "Cat", "s-dan": "Dan", "u": "Alice"}
    return Message(number, kind, who, names[who], "text", when)


STAFF, CUSTOMER, NOTE = MessageKind.STAFF, MessageKind.CUSTOMER, MessageKind.NOTE
TICKETS = [
    # #1 first answer Mon 10:00 -> 11:30 = 1h30; next Mon 16:00 -> Tue 09:30 = 2h + 30m = 2h30 (Cat)
    ticket(1, "seo-suite", at(21, 10), at(21, 11, 30), "s-bob", at(22, 10), CloseReason.RESOLVED, "staff:s-bob"),
    # #2 Thu 24 17:00 -> Mon 28 10:00 across the holiday and the weekend: 1h (Thu) + 1h (Mon) = 2h, by Cat
    ticket(2, "seo-suite", at(24, 17), at(28, 10), None, at(28, 11), CloseReason.CUSTOMISATION, "staff:s-dan"),
    # #3 Wed 23 11:00 -> Thu 24 15:30: 1h + 4h + 3h + 1h30 = 9h30, a breach
    ticket(3, "one-step-checkout", at(23, 11), at(24, 15, 30), "s-cat", at(24, 16), CloseReason.RESOLVED,
           "discord:u"),
    # #4 Mon 28 09:00, no answer by the period's end: 3h + 4h = 7h, a breach
    ticket(4, "seo-suite", at(28, 9)),
    # #5 opened before the period; next answer Fri 18 17:00 -> Mon 21 09:45 = 1h + 45m = 1h45 (Bob)
    ticket(5, "seo-suite", at(18, 10), at(18, 11), None, at(21, 12), CloseReason.INACTIVITY, "system"),
]
MESSAGES = {
    1: [msg(1, STAFF, "s-bob", at(21, 11, 30)), msg(1, CUSTOMER, "u", at(21, 16)), msg(1, STAFF, "s-cat", at(22, 9, 30))],
    2: [msg(2, NOTE, "s-dan", at(28, 9, 30)), msg(2, STAFF, "s-cat", at(28, 10))],
    3: [msg(3, STAFF, "s-cat", at(24, 15, 30))],
    4: [],
    5: [msg(5, STAFF, "s-bob", at(18, 11)), msg(5, CUSTOMER, "u", at(18, 17)), msg(5, STAFF, "s-bob", at(21, 9, 45))],
}


def report():  # type: ignore[no-untyped-def]
    return build_report(CAL, 4 * H, SINCE.astimezone(UTC), UNTIL.astimezone(UTC), TICKETS,
                        MESSAGES, ratings={1: 5, 3: 2})


def test_percentile_is_nearest_rank() -> None:
    values = [timedelta(minutes=m) for m in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)]
    assert percentile(values, 0.9) == timedelta(minutes=90)
    assert percentile(values[:3], 0.9) == timedelta(minutes=30)
    assert percentile([], 0.9) is None
    assert Spread.of([]) == Spread()


def test_overall_figures() -> None:
    f = report().overall
    assert (f.opened, f.closed) == (4, 4)  # #1-#4 opened; #1, #2, #3, #5 closed in the period
    # first answers 1h30, 2h, 9h30: average 13h/3 = 4h20, median 2h, p90 (rank 3 of 3) 9h30
    assert f.first_answer == Spread(3, 4 * H + 20 * M, 2 * H, 9 * H + 30 * M)
    assert (f.within_promise, f.measured, f.share_within) == (2, 4, 0.5)  # #4 unanswered counts against
    # next answers 2h30 and 1h45: average and median 2h07m30s, p90 2h30
    assert f.next_answer == Spread(2, 2 * H + 7.5 * M, 2 * H + 7.5 * M, 2 * H + 30 * M)
    # time to close (calendar): 24h, 90h, 29h, 74h -> average 54h15, median 51h30, p90 90h
    assert f.to_close == Spread(4, 54 * H + 15 * M, 51 * H + 30 * M, 90 * H)
    assert f.closes == {"customisation": 1, "inactivity": 1, "resolved": 2}
    assert (f.rating_average, f.ratings) == (3.5, 2)
    assert f.breaches == (Breach(3, "first answer", 9 * H + 30 * M), Breach(4, "no answer yet", 7 * H))


def test_per_product_and_per_staff_member() -> None:
    r = report()
    osc, seo = r.products
    assert (osc.name, osc.opened, osc.closed, osc.first_answer.count, osc.within_promise, osc.measured) == (
        "one-step-checkout", 1, 1, 1, 0, 1)
    assert seo.first_answer == Spread(2, 105 * M, 105 * M, 2 * H) and (seo.within_promise, seo.measured) == (2, 3)
    assert seo.closed == 3 and [b.number for b in seo.breaches] == [4]
    bob, cat, dan, nobody = r.staff
    assert (bob.name, bob.opened, bob.closed, bob.first_answer.count) == ("Bob", 1, 2, 1)  # #1 and #5 are his
    assert bob.next_answer == Spread(1, 105 * M, 105 * M, 105 * M)
    assert (cat.name, cat.opened, cat.closed) == ("Cat", 2, 2)  # #3 assigned, #2 first answered by her
    assert cat.first_answer == Spread(2, 5 * H + 45 * M, 5 * H + 45 * M, 9 * H + 30 * M)
    assert cat.next_answer.count == 1 and [b.number for b in cat.breaches] == [3]
    assert dan == type(dan)("Dan")  # closed #2 (Cat's) and wrote a note: a line with nothing in it
    assert (nobody.name, nobody.opened, [b.number for b in nobody.breaches]) == ("(nobody)", 1, [4])


def test_days_for_the_chart() -> None:
    days = {d.day.day: d for d in report().days}
    assert sorted(days) == [21, 22, 23, 24, 25, 26, 27, 28]
    assert (days[21].first_answer_hours, days[21].share_within) == (1.5, 1.0)
    assert (days[22].opened, days[22].first_answer_hours, days[22].share_within) == (0, None, None)
    assert (days[23].first_answer_hours, days[23].share_within) == (9.5, 0.0)
    assert (days[28].opened, days[28].first_answer_hours, days[28].share_within) == (1, None, 0.0)


def test_text_and_csv() -> None:
    text = report_text(CAL, report())
    assert text.splitlines()[0] == "SLA report, Mon 21 Dec 2026 00:00 to Mon 28 Dec 2026 23:59 (UTC+01:00)"
    for line in ("All products: 4 opened, 4 closed",
                 "  first answer (working time): average 4h 20m, median 2h, p90 9h 30m (3); within 4h: 2 of 4 (50%)",
                 "  next answers: average 2h 8m, median 2h 8m, p90 2h 30m (2)",
                 "  time to close: average 2d 6h 15m, median 2d 3h 30m, p90 3d 18h (4); "
                 "closes: customisation 1, inactivity 1, resolved 2; satisfaction: 3.5 / 5 (2)",
                 "  breaches: #3 (first answer 9h 30m), #4 (no answer yet 7h)",
                 "  Dan: 0 opened, 0 closed", "    breaches: none"):
        assert line in text.splitlines(), line
    rows = report_csv(report()).splitlines()
    assert rows[0].startswith("scope,name,opened,closed,first_answers,first_answer_avg_h")
    assert rows[1] == ("all,All products,4,4,3,4.33,2.00,9.50,2,50.0,2,2.12,2.12,2.50,54.25,51.50,"
                       "customisation=1 inactivity=1 resolved=2,3.50,2,#3 #4")
    assert [r.split(",")[:2] for r in rows[2:]] == [["product", "one-step-checkout"], ["product", "seo-suite"],
                                                    ["staff", "Bob"], ["staff", "Cat"], ["staff", "Dan"],
                                                    ["staff", "(nobody)"]]


def test_an_empty_period() -> None:
    empty = build_report(CAL, 4 * H, SINCE, SINCE + timedelta(days=1), [], {})
    assert empty.overall.opened == 0 and empty.overall.share_within is None and not empty.staff
    text = report_text(CAL, empty)
    assert "first answer (working time): -; within 4h: -" in text and "no tickets" in text
    assert len(report_csv(empty).splitlines()) == 2


def test_the_chart_is_a_png_of_sensible_size() -> None:
    import struct

    from adapters.render.chart import report_chart

    png = report_chart(CAL, report())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1000, 600)
    assert 10_000 < len(png) < 500_000
    empty = report_chart(CAL, build_report(CAL, 4 * H, SINCE, SINCE + timedelta(days=1), [], {}))
    assert empty[:8] == b"\x89PNG\r\n\x1a\n"
