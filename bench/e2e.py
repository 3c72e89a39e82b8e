"""End to end through the real process's parts: a fake Discord gateway and a fake Slack in this
process, the real adapters through the real composition root (build_runtime, start_platforms,
the dispatcher's run_forever woken by commits), SQLite, the system clock.

    python -m bench.e2e [--rounds 100]

Each round, interleaved, every leg starting from an idle bot (outbox drained): a customer
writes in the ticket's Discord thread (a MESSAGE_CREATE from the fake gateway) until the fake
Slack receives the post; the same text as a bare chat.postMessage (a real slack_sdk
AsyncWebClient on a pooled session) to the same fake; a staff member answers in the card's
thread (a signed events_api callback over HTTP) until the fake Discord receives the answer; the
same answer as a bare Discord post (the bot's own discord.py client, channel.send). It prints the median and p95 of each and
the ratios of the medians (target <= 3), and the statements each leg caused in the warm-up
rounds (the timed rounds run without the bench's statement listeners). Slack's pacing is off
here (bench.burst measures it) and the calendar always open.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.discord.port import DiscordCustomerPort
from adapters.slack.client import make_client, parse_ref
from adapters.slack.pacing import ChannelPacer
from adapters.slack.port import SlackStaffPort
from adapters.slack.runner import EVENTS_PATH
from bench.counting import Counted
from bot.customers.licences import import_licences
from bot.domain import Target
from storage.engine import make_engine
from storage.models import outbox as outbox_table
from supportbot.bootstrap import build_runtime
from supportbot.clock import SystemClock
from supportbot.platforms import start_platforms
from supportbot.settings import Settings
from tests.discord import payloads as p
from tests.discord.fake_discord import FakeDiscord
from tests.discord.flows import ALICE, eventually
from tests.e2e_helpers import LICENCES, POLICY, e2e_settings, free_port
from tests.e2e_world import World, link_and_open
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.harness import event_body, sign

TARGET = 3.0
# What support messages look like (length, punctuation, a version number), not a few words:
# redaction and every layer that handles the text see a real message's work.
QUESTION = ("Hi, after upgrading to 2.4.7 the checkout page shows a blank shipping step and the browser "
            "console says Uncaught TypeError: cannot read properties of undefined (reading "
            "'extension_attributes'). We use One Step Checkout 3.2.1 with PHP 8.2. Any idea? (round {n})")
ANSWER = ("Thanks! That is a known conflict with the 3.2.1 template: please run bin/magento setup:upgrade, "
          "then clear the static files (pub/static/frontend) and tell us whether the shipping step comes back. "
          "(round {n})")
ALWAYS_OPEN = "\n".join(f'hours.{d} = ["00:00-24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))


def always_open_policy() -> str:
    lines = [line for line in POLICY.splitlines() if not line.startswith("hours.")]
    at = lines.index('timezone = "+01:00"') + 1
    return "\n".join(lines[:at] + [ALWAYS_OPEN] + lines[at:])


async def wait_slack(slack: FakeSlack, text: str, start: int) -> float:
    """The fake's loop time of the first chat.postMessage carrying `text`, from call `start` on.
    Woken by the fake's calls: polling would take turns of the loop the leg is measured on."""
    while True:
        for i in range(start, len(slack.calls)):
            method, params = slack.calls[i]
            if method == "chat.postMessage" and text in params.get("text", ""):
                return slack.times[i]
        start = len(slack.calls)
        slack.arrived.clear()
        await slack.arrived.wait()


async def quiet(w: World, outbox: AsyncEngine) -> None:
    """Wait until the outbox is drained (the card updates and reactions of the last leg too):
    each leg is measured from an idle bot, not behind the tail of the one before."""
    due = select(func.count()).select_from(outbox_table).where(outbox_table.c.status == "pending")
    async with asyncio.timeout(10):
        while True:
            async with outbox.connect() as db:
                if not (await db.execute(due)).scalar_one():
                    break
            await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)  # the settle in hand, if any


async def rounds(w: World, count: int, warmup: int, counted: Counted) -> dict[str, list[float]]:
    """Timings per leg, and (keys "customer statements" and so on) what each leg made the bot
    run in the database, everything it caused (card updates, reactions) included."""
    loop = asyncio.get_running_loop()
    poll = make_engine(str(w.runtime.store.engine.url))
    async with asyncio.timeout(10):  # the dispatcher opens the Discord thread and posts the card
        while not ((ticket := (await w.tickets())[0]).customer_thread_ref and ticket.staff_thread_ref):
            await asyncio.sleep(0.01)
    _, card_ts = parse_ref(ticket.staff_thread_ref)
    thread_id = int(ticket.customer_thread_ref or 0)
    thread = await eventually(lambda: w.client.get_channel(thread_id), within=10)
    timings: dict[str, list[float]] = {k: [] for k in ("customer", "slack", "staff", "discord", "customer statements",
                                                       "customer transactions", "staff statements", "staff transactions")}
    async with aiohttp.ClientSession() as bare_session, aiohttp.ClientSession() as events:
        bare = make_client(BOT_TOKEN, w.slack.api_url, session=bare_session)
        for n in range(warmup + count):
            if n == warmup:
                counted.stop()  # the timed rounds run without the bench's listeners
            row: dict[str, float] = {}
            await quiet(w, poll)
            text = QUESTION.format(n=n)
            start, t0, mark = len(w.slack.calls), loop.time(), counted.mark()
            await w.discord.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread_id, ALICE, text))
            row["customer"] = await asyncio.wait_for(wait_slack(w.slack, text, start), 10) - t0
            await quiet(w, poll)
            row["customer statements"], row["customer transactions"] = counted.since(mark)

            t0 = loop.time()
            await bare.chat_postMessage(channel="C0SEO", text=text)  # the same message, bare
            row["slack"] = loop.time() - t0

            answer = ANSWER.format(n=n)
            reply = {"type": "message", "user": "U0000BOB", "text": answer, "ts": f"1700001000.{n:06d}",
                     "thread_ts": card_ts, "channel": "C0SEO", "channel_type": "channel"}
            body = event_body(reply, f"EvBench{n}")
            t0, mark = loop.time(), counted.mark()
            async with events.post(f"http://127.0.0.1:{w.slack_port}{EVENTS_PATH}", data=body.encode(),
                                   headers=sign(body, "application/json")) as response:
                assert response.status == 200
            posted = await w.discord.wait_for(lambda a=answer: [c for c in w.discord.posts_in(thread_id)  # type: ignore[misc]
                                                                if a in c.body.get("content", "")], within=10)
            row["staff"] = posted[0].at - t0
            await quiet(w, poll)
            row["staff statements"], row["staff transactions"] = counted.since(mark)

            t0 = loop.time()
            await thread.send(answer)
            row["discord"] = loop.time() - t0
            for key, value in row.items():
                if (" " in key) == (n < warmup):  # counts from the warm-up, times from the rest
                    timings[key].append(value if " " in key else value * 1000)
    await poll.dispose()
    return timings


async def run(folder: Path, count: int, warmup: int) -> dict[str, list[float]]:
    for name in Settings.model_fields:  # nothing from the developer's environment leaks in
        os.environ.pop(name.upper(), None)
    slack, fake_discord = FakeSlack(), FakeDiscord()
    await slack.start()
    await fake_discord.start()
    runtime = None
    try:
        slack_port = free_port()
        settings = e2e_settings(folder, slack, fake_discord, slack_port)
        Path(settings.supportbot_config).write_text(always_open_policy(), encoding="utf-8")
        runtime = await build_runtime(settings, SystemClock())
        await import_licences(runtime.store.uow, LICENCES)
        ports = await start_platforms(runtime)
        staff, customer = ports[Target.STAFF], ports[Target.CUSTOMER]
        assert isinstance(staff, SlackStaffPort) and isinstance(customer, DiscordCustomerPort)
        staff.pacer = ChannelPacer.unpaced()
        await eventually(lambda: customer.client.get_channel(p.SUPPORT_ID), within=10)
        dispatcher = runtime.start_dispatcher(ports)
        counted = Counted()
        counted.watch(runtime.store.engine)
        await runtime.run_background()  # run_forever, woken by commits: as `supportbot run`
        world = World(slack, fake_discord, runtime, dispatcher, customer.client, slack_port)
        await link_and_open(world)
        return await rounds(world, count, warmup, counted)
    finally:
        if runtime is not None:
            await runtime.close()
        await fake_discord.stop()
        await slack.stop()


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    return f"median {statistics.median(ordered):7.2f} ms, p95 {ordered[int(len(ordered) * 0.95)]:7.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10, help="rounds not timed, whose statements are counted")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t = asyncio.run(run(Path(tmp), args.rounds, args.warmup))
    print(f"{args.rounds} rounds end to end (SQLite, real adapters and composition root, fakes in process):")
    for path, bare, label in (("customer", "slack", "customer -> Slack"), ("staff", "discord", "staff -> Discord")):
        ratio = statistics.median(t[path]) / statistics.median(t[bare])
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        print(f"  {label:<18} {summary(t[path])}")
        print(f"  {'  bare post':<18} {summary(t[bare])}   ratio of medians x{ratio:.2f} "
              f"(target <= {TARGET:g}: {verdict})")
        print(f"  {'':<18} {statistics.median(t[path + ' statements']):.0f} statements in "
              f"{statistics.median(t[path + ' transactions']):.0f} transactions (median of the warm-up rounds; all it causes)")


if __name__ == "__main__":
    main()
