"""Transcript files as the delivery ports send them: (filename, bytes), rendered at delivery time."""

from __future__ import annotations

from typing import Any

from adapters.render.transcript import JinjaTranscriptRenderer
from bot.desk import Desk
from bot.domain import Ticket
from bot.errors import Refusal
from bot.ports import Undeliverable
from bot.reporting.transcripts import FORMATS, Audience, Format, load_transcript, transcript_filename

_renderer = JinjaTranscriptRenderer()


async def transcript_file(desk: Desk, number: int, fmt: Format, audience: Audience) -> tuple[str, bytes]:
    transcript = await load_transcript(desk, number, audience)
    return transcript_filename(number, fmt, audience), _renderer.render(transcript, fmt).encode("utf-8")


async def outbox_transcript(desk: Desk, ticket: Ticket, payload: dict[str, Any],
                            audience: Audience) -> tuple[str, bytes]:
    """The file a `transcript` outbox row asks for; Undeliverable when it cannot be made."""
    fmt = payload.get("format", "html")
    if fmt not in FORMATS:
        raise Undeliverable(f"transcript: unknown format {fmt!r}")
    try:
        return await transcript_file(desk, ticket.number, fmt, audience)
    except Refusal as exc:
        raise Undeliverable(f"transcript: ticket #{ticket.number} is gone") from exc


async def customer_transcript(desk: Desk, ticket: Ticket, payload: dict[str, Any]) -> tuple[str, bytes]:
    return await outbox_transcript(desk, ticket, payload, "customer")


async def staff_transcript(desk: Desk, ticket: Ticket, payload: dict[str, Any]) -> tuple[str, bytes]:
    return await outbox_transcript(desk, ticket, payload, "staff")


async def report_files(desk: Desk, payload: dict[str, Any]) -> tuple[str, bytes, str]:
    """For a "report" outbox row: the chart's filename and PNG bytes, and the summary text."""
    from adapters.render.chart import report_chart
    from bot.reporting.report_text import report_text
    from bot.reporting.requests import report_from_payload

    try:
        report = await report_from_payload(desk, payload)
    except (KeyError, ValueError) as exc:
        raise Undeliverable(f"report: the row does not name a period ({exc})") from exc
    cal = desk.policy.calendar
    last = cal.local(report.until).date().isoformat()
    return f"sla-report-{last}.png", report_chart(cal, report), report_text(cal, report)
