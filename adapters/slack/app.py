"""The Slack app (slack-bolt AsyncApp): staff replies, edits, /tickets and the card's buttons.

Listeners turn Slack payloads into the core's commands and show the outcome ephemerally.
The app runs each listener before it answers Slack (process_before_response): a staff reply is
committed before Slack hears 200 (or the Socket Mode ack), so a crash in between makes Slack
retry rather than lose it. Listeners store and return; platform calls go through the outbox.
A reply is deduplicated by its message (channel and ts), so a Slack retry and the start-up
catch-up (adapters/slack/catch_up.py) relay it once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.card import (
    CLAIM,
    CLOSE,
    REQUEST_ACCESS,
    TEXT_LIMIT,
    VIEW_ACCESS,
    escape,
    render_escaped,
    truncate,
)
from adapters.slack.card_threads import CardThreads
from adapters.slack.client import DEFAULT_API_URL, make_client, make_ref
from adapters.slack.markup import to_plain
from adapters.slack.report_command import is_report, slack_report
from adapters.slack.staff import StaffDirectory
from bot.commands import Claim, Edit, Staff, StaffClose, StaffPost
from bot.desk import Desk
from bot.domain import STAFF_CLOSE_REASONS, Attachment, CloseReason
from bot.errors import Refusal
from bot.ports import Cipher
from bot.secrets.access import view_access
from bot.texts import Text
from bot.tickets.actions import claim, request_access, staff_close
from bot.tickets.conversation import edit_message, staff_post
from bot.tickets.queries import staff_open_tickets, staff_stats, staff_ticket
from bot.tickets.ticket_numbers import parse_ticket_number

log = logging.getLogger(__name__)

NOT_STAFF_REPLY = "Only support staff can answer tickets here; your message was not sent to the customer."
NOT_STAFF = "Only support staff can do this."
APOLOGY = "Sorry, something went wrong on our side; nothing was changed. Please try again in a moment."
USAGE = ("Usage: /tickets | /tickets mine | /tickets stats | /tickets report [since:YYYY-MM-DD] [until:YYYY-MM-DD] "
         "| /tickets 12 | /tickets 12 request-access")
# the assignee column of a ticket line ("#12 … | status | U0123ABCD | 3h left"): anchored to the
# line's start and end so that a "| U… |" typed by a customer in a subject stays text
ASSIGNEE = re.compile(r"^(#\d+ .*)\| ([UW][A-Z0-9]{6,}) \|([^|\n]*)$", re.MULTILINE)
RELAYED_SUBTYPES = (None, "file_share", "thread_broadcast")
Reply = Callable[[str], Awaitable[Any]]


async def answer(reply: Reply, work: Callable[[], Awaitable[str | Text | None]]) -> None:
    """Run a use case and show its outcome; a refusal is shown as such, a bug as an apology."""
    try:
        result = await work()
    except Refusal as refusal:
        result = refusal.text
    except Exception:
        log.exception("Slack listener failed")
        result = APOLOGY
    await show(reply, result)


async def show(reply: Reply, result: str | Text | None) -> None:
    """Send an answer; a failure to send (rate limit, network) is logged, never raised."""
    if result is None:
        return
    text = render_escaped(result) if isinstance(result, Text) else result
    try:
        await reply(truncate(text, TEXT_LIMIT))
    except Exception:
        log.exception("could not answer in Slack")


async def is_ticket_thread(desk: Desk, thread_ref: str) -> bool:
    async with desk.uow() as uow:
        return await uow.tickets.by_staff_thread(thread_ref) is not None


async def slack_attachments(client: AsyncWebClient, files: list[dict[str, Any]]) -> tuple[Attachment, ...]:
    """Staff files as bot.domain.Attachment; their url_private_download needs the bot token."""
    result = []
    for f in files:
        if f.get("file_access") == "check_file_info":  # Slack Connect: details come from files.info
            f = (await client.files_info(file=f["id"])).get("file") or f
        url = f.get("url_private_download") or f.get("url_private")
        if url:
            result.append(Attachment(f.get("name") or f.get("title") or "file", url,
                                     f.get("mimetype") or "", int(f.get("size") or 0)))
    return tuple(result)


def build_slack_app(desk: Desk, *, token: str, signing_secret: str | None, staff: StaffDirectory,
                    api_url: str = DEFAULT_API_URL, client: AsyncWebClient | None = None,
                    cipher: Cipher | None = None) -> AsyncApp:
    """The bolt app; serve it with adapters.slack.runner.start_slack (Socket Mode or HTTP).
    `cipher` (supportbot.bootstrap.Runtime.cipher) decrypts temporary access for View access."""
    client = client or make_client(token, api_url)
    app = AsyncApp(client=client, signing_secret=signing_secret or "", request_verification_enabled=True,
                   process_before_response=True, logger=logging.getLogger("adapters.slack.bolt"))

    async def ephemeral(channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        await client.chat_postEphemeral(**kwargs)

    cards = CardThreads(desk, client)

    async def plain(text: str | None) -> str:
        return await to_plain(text or "", staff.display_name)

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        try:
            subtype = event.get("subtype")
            if subtype in ("message_changed", "message_deleted"):
                await on_edit(body, event, context.get("bot_user_id"))
            elif subtype in RELAYED_SUBTYPES and not event.get("bot_id"):
                await on_reply(body, event, context.get("bot_user_id"))
        except Exception:
            log.exception("Slack message event %s failed", body.get("event_id"))

    async def on_reply(body: dict[str, Any], event: dict[str, Any], bot_user: str | None) -> None:
        user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
        thread_ts = event.get("thread_ts")
        if not user or not channel or not ts or user == bot_user or not thread_ts or thread_ts == ts:
            return  # not a person's reply in a thread
        thread_ref = make_ref(channel, thread_ts)
        who = await staff.staff(user)
        reply = lambda text: ephemeral(channel, user, text, thread_ts)  # noqa: E731
        if who is None:
            if await is_ticket_thread(desk, thread_ref):
                await show(reply, NOT_STAFF_REPLY)
            return

        async def relay() -> Text | None:
            post = StaffPost(who, event_id=make_ref(channel, ts), body=await plain(event.get("text")),
                             message_ref=make_ref(channel, ts), thread_ref=thread_ref,
                             attachments=await slack_attachments(client, event.get("files") or []))
            try:
                return await staff_post(desk, post)
            except Refusal as refusal:
                if refusal.text.key != "no_such_ticket":
                    raise
            if not await cards.adopt(channel, thread_ts, bot_user):
                return None  # a thread that is not a ticket: staff talking among themselves
            return await staff_post(desk, post)  # a card posted a moment ago, now recorded

        await answer(reply, relay)

    async def on_edit(body: dict[str, Any], event: dict[str, Any], bot_user: str | None) -> None:
        channel = event.get("channel")
        event_id = str(body.get("event_id") or "")
        if event["subtype"] == "message_deleted":
            deleted, old = event.get("deleted_ts"), event.get("previous_message") or {}
            if old.get("bot_id") or old.get("user") == bot_user:
                return  # our own copy of a customer message: never delete the customer's original
            if channel and deleted and event_id:
                await edit_message(desk, Edit("staff", event_id, make_ref(channel, deleted), None))
            return
        new, old = event.get("message") or {}, event.get("previous_message") or {}
        if new.get("bot_id") or new.get("user") == bot_user or not channel or not event_id or not new.get("ts"):
            return
        if new.get("text") == old.get("text"):
            return  # a link preview or the parent's reply count, not an edit by a person
        await edit_message(desk, Edit("staff", event_id, make_ref(channel, new["ts"]), await plain(new.get("text"))))

    async def as_staff(user: str, reply: Reply, work: Callable[[Staff], Awaitable[str | Text | None]]) -> None:
        """Every command and button: staff only, and the outcome (or refusal) shown to that user."""
        async def checked() -> str | Text | None:
            who = await staff.staff(user)
            return NOT_STAFF if who is None else await work(who)

        await answer(reply, checked)

    @app.command("/tickets")
    async def on_tickets(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        text, channel = command.get("text") or "", command.get("channel_id", "")
        await as_staff(command.get("user_id", ""), lambda text: respond(text=text, response_type="ephemeral"),
                       lambda who: slack_report(desk, who, text, channel) if is_report(text)
                       else tickets_command(desk, who, text))

    def on_button(work: Callable[[Staff, dict[str, Any]], Awaitable[Text]]) -> Callable[..., Awaitable[None]]:
        async def listener(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
            await ack()
            reply = lambda text: respond(text=text, response_type="ephemeral", replace_original=False)  # noqa: E731
            await as_staff((body.get("user") or {}).get("id", ""), reply, lambda who: work(who, action))

        return listener

    async def close(who: Staff, action: dict[str, Any]) -> Text:
        number, _, reason = str((action.get("selected_option") or {}).get("value", "")).partition(":")
        if reason not in {r.value for r in STAFF_CLOSE_REASONS}:
            raise Refusal("console_usage", message=f"Close with one of: {', '.join(r.value for r in STAFF_CLOSE_REASONS)}.")
        return await staff_close(desk, StaffClose(who, parse_ticket_number(number), CloseReason(reason)))

    # button values are ours, but a request can be forged: numbers are read like typed ones
    app.action(CLAIM)(on_button(lambda who, a: claim(desk, Claim(who, parse_ticket_number(str(a.get("value")))))))
    app.action(CLOSE)(on_button(close))
    app.action(REQUEST_ACCESS)(on_button(
        lambda who, a: request_access(desk, who, parse_ticket_number(str(a.get("value"))))))

    @app.action(VIEW_ACCESS)
    async def on_view_access(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Access in clear goes to this staff member only (chat.postEphemeral), never to the
        response_url nor the channel; the core writes the view to the audit log."""
        await ack()
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")

        async def show(who: Staff) -> str:
            if cipher is None:
                raise RuntimeError("no cipher wired into the Slack app: temporary access cannot be read")
            return escape(await view_access(desk, cipher, who, parse_ticket_number(str(action.get("value")))))

        await as_staff(user, lambda text: ephemeral(channel, user, text), show)

    return app


def names(listing: str) -> str:
    """Assignees are Slack user ids in ticket lines ("… | U0123ABCD | …"): show them as names."""
    return ASSIGNEE.sub(lambda m: f"{m.group(1)}| <@{m.group(2)}> |{m.group(3)}", listing)


async def tickets_command(desk: Desk, who: Staff, text: str) -> str | Text:
    """/tickets [mine | stats | N | N request-access]; customer text in the answer is escaped.
    Lists, statistics and tickets are limited to the staff member's scope by the core."""
    words = text.strip().lower().split()
    if not words:
        return names(escape(await staff_open_tickets(desk, who)))
    if words == ["mine"]:
        return names(escape(await staff_open_tickets(desk, who, assignee=who.user_id)))
    if words == ["stats"]:
        return escape(await staff_stats(desk, who))
    if len(words) > 2 or (words[1:] and words[1:] != ["request-access"]) or not looks_numeric(words[0]):
        return USAGE
    number = parse_ticket_number(words[0])  # a bad number is refused with a sentence
    if words[1:] == ["request-access"]:
        return await request_access(desk, who, number)
    return names(escape(await staff_ticket(desk, who, number)))


def looks_numeric(word: str) -> bool:
    """Meant as a ticket number (then read strictly), rather than a word to answer with USAGE."""
    return word.startswith("#") or any(ch.isnumeric() for ch in word)
