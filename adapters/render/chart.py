"""The SLA report's chart (matplotlib, Agg canvas, no pyplot global state): first-answer time per day
against the promise line, and the share answered within the promise."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.reporting.report_text import period_label
from bot.reporting.sla import SlaReport
from bot.time.calendar import BusinessCalendar

WIDTH, HEIGHT, DPI = 10, 6, 100  # a 1000 x 600 pixel PNG


def report_chart(cal: BusinessCalendar, report: SlaReport) -> bytes:
    """The chart as PNG bytes."""
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    answers, shares = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    labels = [f"{d.day:%a %d %b}" for d in report.days]
    x = range(len(report.days))
    promise = report.promise.total_seconds() / 3600
    hours = [d.first_answer_hours or 0.0 for d in report.days]
    colours = ["#e01e5a" if (d.first_answer_hours or 0) > promise else "#2eb67d" for d in report.days]
    answers.bar(x, hours, color=colours, label="average first answer")
    answers.axhline(promise, color="#1d1c1d", linestyle="--", linewidth=1.5, label=f"promise ({promise:g} h)")
    answers.set_ylabel("working hours")
    answers.set_ylim(0, max([promise * 1.25, *(h * 1.1 for h in hours)]))
    answers.legend(loc="upper left", fontsize="small")
    answers.set_title(f"First answer per day of opening\n{period_label(cal, report)}", fontsize="medium")
    share = [100 * d.share_within if d.share_within is not None else 0.0 for d in report.days]
    shares.bar(x, share, color="#36c5f0")
    shares.set_ylim(0, 105)
    shares.set_ylabel(f"% within {promise:g} h")
    overall = report.overall.share_within
    if overall is not None:
        shares.axhline(100 * overall, color="#1d1c1d", linestyle=":", linewidth=1,
                       label=f"whole period {100 * overall:.0f}%")
        shares.legend(loc="lower left", fontsize="small")
    for d_index, day in enumerate(report.days):
        if day.share_within is None:
            shares.annotate("no data", (d_index, 50), ha="center", fontsize="x-small", color="#777")
    shares.set_xticks(list(x), labels, rotation=45 if len(labels) > 10 else 0, ha="right" if len(labels) > 10 else "center",
                      fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
