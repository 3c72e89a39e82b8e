"""`supportbot customer show|forget|unlink` and `supportbot licences revoke`: a customer's data
under the vendor's control. Each prints sentences for the operator and returns the exit status."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from bot.delivery.effects import emit
from bot.domain import CloseReason, Target
from bot.ports import LicenceUnavailable
from bot.time import deadlines
from storage.erasure import CustomerRecord, find_customer, forget_customer, unlink_identity
from storage.licence_revocation import revoke_licence
from supportbot.bootstrap import Store, licence_source, open_store
from supportbot.clock import SystemClock
from supportbot.settings import Settings


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _show(record: CustomerRecord) -> None:
    print(f"account {record.email}")
    print(f"  linked identities: {len(record.identities) or 'none'}")
    for i in record.identities:
        print(f"    {i['platform']} {i['user_id']} ({i['display_name'] or 'no name'}), linked {_when(i['linked_at'])}")
    print(f"  tickets: {len(record.tickets) or 'none'}")
    for t in record.tickets:
        print(f"    #{t['id']} {t['product']} {t['status']}: {t['subject']!r} "
              f"opened {_when(t['opened_at'])}, closed {_when(t['closed_at'])}")
    print(f"  licences: {len(record.licences) or 'none'}")
    for lic in record.licences:
        print(f"    {lic['key']} {lic['product']} valid through {_when(lic['expires_at'])}")


async def _close_for_erasure(store: Store, numbers: list[int], now: datetime) -> None:
    """Close as `erased`: the card shows it closed and the thread is locked; nothing is said in it
    (whatever would be said is about to be erased)."""
    for number in numbers:
        async with store.uow() as uow:
            ticket = await uow.tickets.get_for_update(number)
            if ticket is None or not ticket.is_open:
                continue
            deadlines.close(ticket, now, CloseReason.ERASED, "operator")
            await uow.tickets.save(ticket)
            await emit(uow, now, Target.CUSTOMER, "lock", ticket)
            await emit(uow, now, Target.STAFF, "card_update", ticket)
            await uow.commit()


async def customer_command(settings: Settings, args: Any) -> int:
    store = await open_store(settings.database_url)
    try:
        if args.action == "unlink":
            if await unlink_identity(store.engine, args.target, args.user_id):
                print(f"unlinked {args.target} user {args.user_id}: it must link again to open tickets")
                return 0
            print(f"no linked identity {args.target} {args.user_id}", file=sys.stderr)
            return 1
        record = await find_customer(store.engine, args.target)
        if record is None:
            print(f"no customer with the e-mail {args.target}", file=sys.stderr)
            return 1
        if args.action == "show":
            _show(record)
            return 0
        now = SystemClock().now()
        if record.open_tickets:
            listed = ", ".join(f"#{n}" for n in record.open_tickets)
            if not args.close_open:
                print(f"{record.email} has open tickets ({listed}): close them first, or pass --close-open "
                      "to close them as erased", file=sys.stderr)
                return 1
            await _close_for_erasure(store, record.open_tickets, now)
        counts = await forget_customer(store.engine, record, now)
        print(f"forgot {record.email}: {counts['tickets']} ticket(s) kept as anonymous statistics, "
              f"{counts['identities']} identity(ies) and {counts['licences']} licence(s) erased. "
              "Re-importing a licence CSV that still lists this e-mail would store it again.")
        return 0
    finally:
        await store.engine.dispose()


async def revoke_command(settings: Settings, key: str) -> int:
    store = await open_store(settings.database_url)
    source = licence_source(settings, store.uow)
    try:
        try:
            licence = await source.lookup(key)
        except LicenceUnavailable:
            print("the licence API does not answer: nothing was changed; try again", file=sys.stderr)
            return 1
        if licence is None:
            print(f"no licence with the key {key}", file=sys.stderr)
            return 1
        rechecked = await revoke_licence(store.engine, key, licence.email, licence.product, SystemClock().now())
        print(f"revoked {key} ({licence.product}): {rechecked} open ticket(s) are treated as after an expiry "
              "at the next sweep (within a minute while the bot runs)")
        if settings.licence_api_url:
            print("LICENCE_API_URL is set: revoke the licence there too, or the next check finds it valid again")
        return 0
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            await close()
        await store.engine.dispose()
