"""The SLA report as text (Slack, console, command line) and as CSV (spreadsheets)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.reporting.figures import Spread
from bot.reporting.sla import Figures, SlaReport
from bot.time.calendar import BusinessCalendar, zone_label
from bot.time.durations import format_duration


def _d(value: timedelta | None) -> str:
    return format_duration(value) if value is not None else "-"


def _spread(s: Spread) -> str:
    if not s.count:
        return "-"
    return f"average {_d(s.average)}, median {_d(s.median)}, p90 {_d(s.p90)} ({s.count})"


def _share(f: Figures) -> str:
    return f"{f.within_promise} of {f.measured} ({100 * f.within_promise // f.measured}%)" if f.measured else "-"


def period_label(cal: BusinessCalendar, report: SlaReport) -> str:
    last = cal.local(report.until - timedelta(microseconds=1))
    first = cal.local(report.since)
    return f"{first:%a %d %b %Y %H:%M} to {last:%a %d %b %Y %H:%M} ({zone_label(cal.tz)})"


def figures_lines(f: Figures, promise: timedelta, indent: str = "  ") -> list[str]:
    closes = ", ".join(f"{reason} {n}" for reason, n in f.closes.items()) or "-"
    rating = f"{f.rating_average:.1f} / 5 ({f.ratings})" if f.rating_average is not None else "-"
    breaches = ", ".join(f"#{b.number} ({b.what} {_d(b.waited)})" for b in f.breaches) or "none"
    return [
        f"{f.name}: {f.opened} opened, {f.closed} closed",
        f"{indent}first answer (working time): {_spread(f.first_answer)}; within {_d(promise)}: {_share(f)}",
        f"{indent}next answers: {_spread(f.next_answer)}",
        f"{indent}time to close: {_spread(f.to_close)}; closes: {closes}; satisfaction: {rating}",
        f"{indent}breaches: {breaches}",
    ]


def report_text(cal: BusinessCalendar, report: SlaReport) -> str:
    lines = [f"SLA report, {period_label(cal, report)}",
             f"Promise: a first answer within {_d(report.promise)} of working time.", ""]
    lines += figures_lines(report.overall, report.promise)
    lines += ["", "Per product:"]
    for f in report.products or ():
        lines += ["  " + line for line in figures_lines(f, report.promise)]
    if not report.products:
        lines.append("  no tickets")
    lines += ["", "Per staff member:"]
    for f in report.staff:
        lines += ["  " + line for line in figures_lines(f, report.promise)]
    if not report.staff:
        lines.append("  no tickets")
    return "\n".join(lines)


def _hours(value: timedelta | None) -> str:
    return f"{value.total_seconds() / 3600:.2f}" if value is not None else ""


COLUMNS = ["scope", "name", "opened", "closed", "first_answers", "first_answer_avg_h", "first_answer_median_h",
           "first_answer_p90_h", "within_promise", "within_promise_pct", "next_answers", "next_answer_avg_h",
           "next_answer_median_h", "next_answer_p90_h", "time_to_close_avg_h", "time_to_close_median_h",
           "closes_by_reason", "satisfaction_avg", "ratings", "breaches"]


def report_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = [("all", report.overall), *(("product", f) for f in report.products), *(("staff", f) for f in report.staff)]
    for scope, f in rows:
        share = f.share_within
        writer.writerow([
            scope, f.name, f.opened, f.closed, f.first_answer.count, _hours(f.first_answer.average),
            _hours(f.first_answer.median), _hours(f.first_answer.p90), f.within_promise,
            f"{100 * share:.1f}" if share is not None else "", f.next_answer.count, _hours(f.next_answer.average),
            _hours(f.next_answer.median), _hours(f.next_answer.p90), _hours(f.to_close.average),
            _hours(f.to_close.median), " ".join(f"{r}={n}" for r, n in f.closes.items()),
            f"{f.rating_average:.2f}" if f.rating_average is not None else "", f.ratings,
            " ".join(f"#{b.number}" for b in f.breaches)])
    return out.getvalue()
