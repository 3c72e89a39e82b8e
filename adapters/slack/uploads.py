"""Files the bot posts in Slack through the outbox: a closed ticket's transcript in its thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.render.files import staff_transcript
from bot.ports import Delivery

if TYPE_CHECKING:
    from adapters.slack.port import SlackStaffPort


def file_id(response: Any) -> str | None:
    files = (response or {}).get("files") or []
    return files[0].get("id") if files else None


async def upload_transcript(port: SlackStaffPort, delivery: Delivery) -> str | None:
    """`transcript`: the ticket's whole transcript (internal notes included) as a file in its thread."""
    ticket = port._ticket(delivery)
    channel, thread_ts = port._thread(ticket)
    name, content = await staff_transcript(port.desk, ticket, delivery.payload)
    await port._pace(channel)
    response = await port._call("files.uploadV2", lambda: port.client.files_upload_v2(
        content=content, filename=name, title=f"Transcript of ticket #{ticket.number}", channel=channel,
        thread_ts=thread_ts, initial_comment=f"Transcript of ticket #{ticket.number} (with internal notes)."))
    return file_id(response)
