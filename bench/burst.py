"""A burst of customer messages drained into Slack: 200 messages over 20 tickets in one channel
by default, one chatty ticket writing half of them first, the quiet ones then taking turns. Real
Slack port and pacer, the local fake Slack enforcing a Slack-like limit per channel (429 beyond
it), SQLite store, system clock, and the dispatcher's run_forever woken by the customers'
commits (as in production: later messages arrive while earlier ones are being delivered).

    python -m bench.burst                          # the pacing as it is (token bucket, lanes)
    python -m bench.burst --burst 1 --no-lanes     # as it was: one post a second, one lane
    python -m bench.burst --channels 2             # the tickets spread over two channels
    python -m bench.burst --spread 10              # the quiet tickets write over 10 s, not at once
    python -m bench.burst --busy 19 --late 3       # 19 backlogs in flight, then a newcomer writes
    python -m bench.burst --messages 40 --tickets 8 --rate 5   # a quick run

The bound ("no ticket waits behind another ticket's backlog longer than the bucket allows"): a
message becomes its ticket's head when the customer sends it or when the ticket's previous message is
posted, whichever is later. If k tickets of its channel have something pending at that moment
(its own included) and the bucket refills at r posts a second, fair turns post it within k/r
seconds: one post of each other ticket, then its own. The burst only makes it sooner. A ticket
behind another's backlog of n posts would wait n/r instead. TOLERANCE allows for the
dispatcher's own work (lease, commit, HTTP).

It prints the drain time, the waits (sent to posted), the longest a ticket's first message
waited next to its bound, the worst head of any message against its bound (PASS/FAIL), the 429s
the fake answered, and whether order was kept per ticket.
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
TOLERANCE = 0.5  # seconds: the dispatcher's own work between two posts (lease, commits, HTTP)


class OneLane:
    """The Slack port without lanes: every channel's posts wait in one line (as before lanes)."""

    def __init__(self, port: SlackStaffPort) -> None:
        self.port = port

    async def deliver(self, delivery: Delivery) -> str | None:
        return await self.port.deliver(delivery)


def plan(tickets: int, messages: int, chatty: int, busy: int = 1) -> list[tuple[int, int]]:
    """(ticket index, message index) in the order customers write: the `busy` chatty tickets
    write `chatty` messages in turns first, then the quiet tickets write the rest in turns."""
    counts = [0] * tickets
    order: list[tuple[int, int]] = []
    for group, upto in ((range(busy), chatty), (range(busy, tickets), messages)):
        turns = list(group)
        while len(order) < upto:
            t = turns[len(order) % len(turns)]
            order.append((t, counts[t]))
            counts[t] += 1
    return order


async def write_burst(desk: Desk, numbers: list[int], args: argparse.Namespace) -> dict[tuple[int, int], float]:
    """The customers write: the chatty backlog at once, then (`--late` seconds later) the quiet
    tickets in turns, one message every `--spread`/n seconds. Returns when each was sent."""
    loop = asyncio.get_running_loop()
    order = plan(args.tickets, args.messages, args.chatty, args.busy)
    gap = args.spread / (len(order) - args.chatty)
    written: dict[tuple[int, int], float] = {}
    for i, (t, m) in enumerate(order):
        if i == args.chatty and args.late:
            await asyncio.sleep(args.late)
        if gap and i >= args.chatty:
            await asyncio.sleep(gap)
        # written when the customer sends it (the row's created_at), before the store's commit
        written[(t, m)] = loop.time()
        await customer_post(desk, CustomerPost(ALICE, f"burst-{t}-{m}", f"burst t{t} m{m}", ticket_number=numbers[t]))
    return written


def posted_times(fake: FakeSlack, first_call: int) -> tuple[dict[tuple[int, int], float], dict[int, list[int]]]:
    """When Slack first received each burst message, and each ticket's messages in Slack's order."""
    posted: dict[tuple[int, int], float] = {}
    sequence: dict[int, list[int]] = {}
    for (method, params), at in zip(fake.calls[first_call:], fake.times[first_call:], strict=True):
        match = TAG.search(params.get("text", "")) if method == "chat.postMessage" else None
        if match and (key := (int(match[1]), int(match[2]))) not in posted:
            posted[key] = at
            sequence.setdefault(key[0], []).append(key[1])
    return posted, sequence


def heads(written: dict[tuple[int, int], float], posted: dict[tuple[int, int], float], channels: int,
          rate: float) -> list[tuple[tuple[int, int], float, float, int]]:
    """Each message's wait from when it became its ticket's head, its bound and k (see the top)."""
    pending_at: dict[int, list[tuple[int, float, float]]] = {}  # channel -> (ticket, written, posted)
    for (t, m), at in written.items():
        pending_at.setdefault(t % channels, []).append((t, at, posted[(t, m)]))
    found = []
    for (t, m), at in written.items():
        head = max(at, posted.get((t, m - 1), at))
        k = len({u for u, w, p in pending_at[t % channels] if w <= head < p} | {t})
        found.append(((t, m), posted[(t, m)] - head, k / rate + TOLERANCE, k))
    return found


async def run(args: argparse.Namespace, folder: str) -> bool:
    fake = await FakeSlack().start()
    store = await open_store(f"sqlite+aiosqlite:///{Path(folder) / 'burst.db'}")
    every_day = {d: ((datetime.min.time(), datetime.max.time().replace(microsecond=0)),) for d in range(7)}
    policy = replace(make_policy(), calendar=BusinessCalendar(UTC, every_day), open_tickets_per_customer=10_000,
                     subject_similarity=101)
    desk = Desk(store.uow, SystemClock(), policy, StoredLicences(store.uow))
    slack = build_slack(desk, token=BOT_TOKEN, api_url=fake.api_url)
    dispatching: asyncio.Task[None] | None = None
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
        store.wake.clear()
        dispatching = asyncio.create_task(dispatcher.run_forever())
        loop = asyncio.get_running_loop()
        started = loop.time()
        written = await write_burst(desk, numbers, args)
        deadline = started + 10 * args.messages / args.rate + 60
        while len(posted_times(fake, first_call)[0]) < args.messages:
            if loop.time() > deadline:
                raise RuntimeError(f"only {len(posted_times(fake, first_call)[0])} of {args.messages} posted")
            await asyncio.sleep(0.1)
        posted, sequence = posted_times(fake, first_call)
        drained = max(posted.values()) - started
        waits = sorted(posted[k] - written[k] for k in posted)
        in_order = all(s == sorted(s) for s in sequence.values())
        found = heads(written, posted, args.channels, args.rate)
        firsts = [f for f in found if f[0][1] == 0 and f[0][0] >= args.busy]
        first = max(firsts, key=lambda f: f[1])
        worst = max(found, key=lambda f: f[1] - f[2])
        ok = all(wait <= bound for _, wait, bound, _ in found)
        print(f"{args.messages} messages over {args.tickets} tickets in {args.channels} channel(s), "
              f"bucket {args.burst} + {args.rate:g}/s, {'lanes' if args.lanes else 'one lane'}; "
              f"fake Slack allows bursts of {args.slack_burst}; {args.busy} chatty ticket(s) write {args.chatty} "
              f"first, the quiet ones the rest {args.late:g} s later over {args.spread:g} s:")
        print(f"  drained in {drained:.1f} s; wait median {statistics.median(waits):.1f} s, "
              f"p95 {waits[int(len(waits) * 0.95)]:.1f} s, max {waits[-1]:.1f} s")
        print(f"  a quiet ticket's first message waited at most {first[1]:.1f} s "
              f"(ticket {first[0][0]}; bound k/r + {TOLERANCE:g} = {first[2]:.1f} s with k = {first[3]})")
        print(f"  worst head against its bound: ticket {worst[0][0]} message {worst[0][1]} waited {worst[1]:.1f} s, "
              f"bound {worst[2]:.1f} s (k = {worst[3]}): {'PASS' if ok else 'FAIL'}")
        print(f"  429 answered by Slack: {fake.limited}; order kept per ticket: {'yes' if in_order else 'NO'}")
        return ok and in_order and not fake.limited
    finally:
        if dispatching is not None:
            dispatcher.stop()
            await asyncio.wait_for(dispatching, timeout=30)
        await slack.close()
        await store.engine.dispose()
        await fake.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--chatty", type=int, default=None, help="messages the chatty ticket(s) write first "
                        "(default: half of them)")
    parser.add_argument("--busy", type=int, default=1, help="how many chatty tickets share that backlog")
    parser.add_argument("--channels", type=int, default=1, choices=(1, 2))
    parser.add_argument("--burst", type=int, default=4, help="the bot's bucket size per channel")
    parser.add_argument("--rate", type=float, default=1.0, help="posts a second per channel (bot and fake)")
    parser.add_argument("--slack-burst", type=int, default=5, help="the burst the fake Slack tolerates")
    parser.add_argument("--spread", type=float, default=0.0, help="seconds over which the quiet tickets "
                        "write, after the chatty backlog (default: at once)")
    parser.add_argument("--late", type=float, default=0.0, help="seconds between the chatty backlog and "
                        "the quiet tickets' first message")
    parser.add_argument("--no-lanes", dest="lanes", action="store_false", help="every channel in one lane")
    args = parser.parse_args(argv)
    if args.chatty is None:
        args.chatty = args.messages // 2
    if (args.tickets < 2 or args.messages < args.tickets or not 0 < args.busy < args.tickets
            or not args.busy <= args.chatty <= args.messages - (args.tickets - args.busy)):
        parser.error("need at least 2 tickets, a quiet one, a message for each, and a chatty share that leaves "
                     "each quiet ticket one")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as folder:
        ok = asyncio.run(run(args, folder))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
