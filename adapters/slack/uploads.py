"""Files the bot posts in Slack through the outbox: a closed ticket's transcript in its thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.render.files import report_files, staff_transcript
from adapters.slack.card import TEXT_LIMIT, escape, mention, truncate
from bot.ports import Delivery

if TYPE_CHECKING:
    from adapters.slack.port import SlackStaffPort


def rating_block(score: int, comment: str) -> dict[str, Any]:
    """The customer's satisfaction, shown on the closed card."""
    stars = "\u2605" * score + "\u2606" * (5 - score)
    text = f"*Satisfaction:* {stars} {score}/5" + (f"\n>{escape(truncate(comment, 2000))}" if comment else "")
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def file_id(response: Any) -> str | None:
    files = (response or {}).get("files") or []
    return files[0].get("id") if files else None


async def upload_transcript(port: SlackStaffPort, delivery: Delivery) -> str | None:
    """`transcript`: the ticket's whole transcript (internal notes included) as a file in its thread."""
    ticket = port._ticket(delivery)
    channel, thread_ts = port._thread(ticket)
    name, content = await staff_transcript(port.desk, ticket, delivery.payload)
    response = await port._paced(channel, "files.uploadV2", lambda: port.client.files_upload_v2(
        content=content, filename=name, title=f"Transcript of ticket #{ticket.number}", channel=channel,
        thread_ts=thread_ts, initial_comment=f"Transcript of ticket #{ticket.number} (with internal notes)."))
    return file_id(response)


async def upload_report(port: SlackStaffPort, delivery: Delivery) -> str | None:
    """`report`: the SLA chart into payload "channel" (a name or id): with the summary (weekly), or
    saying who asked (/tickets report, whose summary was answered ephemerally)."""
    channel = delivery.payload.get("channel_id") or await port.channels.resolve(str(delivery.payload.get("channel")))
    name, png, summary = await report_files(port.desk, delivery.payload)
    if delivery.payload.get("chart_only"):
        comment = f"SLA chart requested by {mention(str(delivery.payload.get('requested_by') or ''))}"
    else:
        comment = truncate(f"*Weekly SLA report*\n```{escape(summary)}```", TEXT_LIMIT)
    response = await port._paced(channel, "files.uploadV2", lambda: port.client.files_upload_v2(
        content=png, filename=name, title="SLA report", channel=channel, initial_comment=comment))
    return file_id(response)
