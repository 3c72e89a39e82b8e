"""`/tickets report [since:DATE] [until:DATE]`: the SLA summary ephemerally, the chart into the channel."""

from __future__ import annotations

from adapters.slack.card import escape
from bot.commands import Staff
from bot.desk import Desk
from bot.reporting.requests import report_options, staff_report


def is_report(text: str) -> bool:
    words = text.strip().lower().split()
    return bool(words) and words[0] == "report"


async def slack_report(desk: Desk, who: Staff, text: str, channel: str) -> str:
    since, until = report_options(text.strip().split()[1:])
    _, summary = await staff_report(desk, who, channel, since, until)
    return f"```{escape(summary)}```\nThe chart follows in this channel."
