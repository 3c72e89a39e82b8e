"""A burst of customer messages drained into Slack: 200 messages over 20 tickets in one channel
by default, one chatty ticket writing half of them first. Real Slack port and pacer, the local
fake Slack enforcing a Slack-like limit per channel (429 beyond it), SQLite store, system clock.

    python -m bench.burst                          # the pacing as it is (token bucket, lanes)
    python -m bench.burst --burst 1 --no-lanes     # as it was: one post a second, one lane
    python -m bench.burst --channels 2             # the tickets spread over two channels
    python -m bench.burst --messages 40 --tickets 8 --rate 5   # a quick run

It prints the drain time, the waits (enqueued to posted), the longest a ticket's first message
waited, the 429s the fake answered, and whether order was kept per ticket.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.slack.pacing import ChannelPacer
from adapters.slack.port import SlackStaffPort
from adapters.slack.runner import build_slack
from bot.commands import CustomerPost
from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Licence, Target
from bot.ports import Delivery
from bot.tickets.conversation import customer_post
from bot.tickets.opening import open_ticket
from bot.time.calendar import BusinessCalendar
from supportbot.bootstrap import open_store
from supportbot.clock import SystemClock
from tests.core_helpers import ALICE, form, link, make_policy
from tests.fakes import RecordingPort
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack

PRODUCTS = ("seo-suite", "one-step-checkout")  # their channels: support-seo, support-checkout
TAG = re.compile(r"burst t(\d+) m(\d+)")


class OneLane:
    """The Slack port without lanes: every channel's posts wait in one line (as before lanes)."""

    def __init__(self, port: SlackStaffPort) -> None:
        self.port = port

    async def deliver(self, delivery: Delivery) -> str | None:
        return await self.port.deliver(delivery)


def plan(tickets: int, messages: int, chatty: int) -> list[tuple[int, int]]:
    """(ticket index, message index) in the order customers write: the chatty ticket first."""
    order = [(0, m) for m in range(chatty)]
    counts = [chatty] + [0] * (tickets - 1)
    t = 1
    while len(order) < messages:
        order.append((t, counts[t]))
        counts[t] += 1
        t = t % (tickets - 1) + 1 if tickets > 1 else 0
    return order


async def run(args: argparse.Namespace, folder: str) -> None:
    fake = await FakeSlack().start()
    store = await open_store(f"sqlite+aiosqlite:///{Path(folder) / 'burst.db'}")
    every_day = {d: ((datetime.min.time(), datetime.max.time().replace(microsecond=0)),) for d in range(7)}
    policy = replace(make_policy(), calendar=BusinessCalendar(UTC, every_day), open_tickets_per_customer=10_000,
                     subject_similarity=101)
    desk = Desk(store.uow, SystemClock(), policy, StoredLicences(store.uow))
    slack = build_slack(desk, token=BOT_TOKEN, api_url=fake.api_url)
    try:
        async with store.uow() as uow:
            for n, sku in enumerate(PRODUCTS):
                await uow.licences.upsert(Licence(f"KEY-{n}", "alice@example.com", sku,
                                                  datetime.now(UTC) + timedelta(days=365)))
            await uow.commit()
        await link_account(desk, link(ALICE, "alice@example.com", "KEY-0"))
        staff: Any = slack.port if args.lanes else OneLane(slack.port)
        dispatcher = Dispatcher(store.uow, desk.clock, {Target.STAFF: staff, Target.CUSTOMER: RecordingPort("c")},
                                wake=store.wake, new_rows=store.new_rows)
        slack.port.pacer = ChannelPacer.unpaced()  # the cards go out before the burst, unpaced
        numbers = [(await open_ticket(desk, form(ALICE, product=PRODUCTS[i % args.channels],
                                                 subject=f"Burst ticket {i}"))).number for i in range(args.tickets)]
        await dispatcher.run_once()
        slack.port.pacer = ChannelPacer(burst=args.burst, rate=args.rate)
        fake.channel_limit = (args.slack_burst, args.rate)
        first_call = len(fake.calls)
        loop = asyncio.get_running_loop()
        enqueued: dict[tuple[int, int], float] = {}
        for t, m in plan(args.tickets, args.messages, args.chatty):
            await customer_post(desk, CustomerPost(ALICE, f"burst-{t}-{m}", f"burst t{t} m{m}",
                                                   ticket_number=numbers[t]))
            enqueued[(t, m)] = loop.time()
        started = loop.time()
        while True:
            await dispatcher.run_once()
            async with store.uow() as uow:
                if await uow.outbox.next_due_at(targets=[Target.STAFF]) is None:
                    break
            await asyncio.sleep(0.2)  # a 429 left a row to retry: wait for it as run_forever would
        drained = loop.time() - started
        posted: dict[tuple[int, int], float] = {}
        sequence: dict[int, list[int]] = {}
        for (method, params), at in zip(fake.calls[first_call:], fake.times[first_call:], strict=True):
            match = TAG.search(params.get("text", "")) if method == "chat.postMessage" else None
            if match and (key := (int(match[1]), int(match[2]))) not in posted:
                posted[key] = at
                sequence.setdefault(key[0], []).append(key[1])
        assert len(posted) == args.messages, f"{len(posted)} of {args.messages} posted"
        waits = sorted(posted[k] - enqueued[k] for k in posted)
        first_waits = [posted[(t, 0)] - enqueued[(t, 0)] for t in range(1, args.tickets)]
        in_order = all(s == sorted(s) for s in sequence.values())
        print(f"{args.messages} messages over {args.tickets} tickets in {args.channels} channel(s), "
              f"bucket {args.burst} + {args.rate:g}/s, {'lanes' if args.lanes else 'one lane'}; "
              f"fake Slack allows bursts of {args.slack_burst}:")
        print(f"  drained in {drained:.1f} s; wait median {statistics.median(waits):.1f} s, "
              f"p95 {waits[int(len(waits) * 0.95)]:.1f} s, max {waits[-1]:.1f} s")
        if first_waits:
            turn = args.tickets / args.channels / args.rate
            print(f"  a quiet ticket's first message waited at most {max(first_waits):.1f} s "
                  f"(one turn of every ticket of its channel at the bucket's rate: ~{turn:.0f} s)")
        print(f"  429 answered by Slack: {fake.limited}; order kept per ticket: {'yes' if in_order else 'NO'}")
    finally:
        await slack.close()
        await store.engine.dispose()
        await fake.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--chatty", type=int, default=None, help="messages the first ticket writes first "
                        "(default: half of them)")
    parser.add_argument("--channels", type=int, default=1, choices=(1, 2))
    parser.add_argument("--burst", type=int, default=4, help="the bot's bucket size per channel")
    parser.add_argument("--rate", type=float, default=1.0, help="posts a second per channel (bot and fake)")
    parser.add_argument("--slack-burst", type=int, default=5, help="the burst the fake Slack tolerates")
    parser.add_argument("--no-lanes", dest="lanes", action="store_false", help="every channel in one lane")
    args = parser.parse_args(argv)
    if args.chatty is None:
        args.chatty = args.messages // 2
    if args.tickets < 2 or args.messages < args.tickets or not 0 < args.chatty < args.messages:
        parser.error("need at least 2 tickets, a message for each, and a chatty share below all of them")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as folder:
        asyncio.run(run(args, folder))


if __name__ == "__main__":
    main()
