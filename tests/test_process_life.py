"""Issue 10, for real: `supportbot run` subprocesses stopped with SIGTERM (a deploy) or SIGKILL (a
crash) and started again on the same database, between the local fakes of Slack and Discord.
Nothing is lost in either direction, nothing is relayed twice, and nothing waits long after the
restart. SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord.fake_discord import FakeDiscord
from tests.discord.flows import ALICE
from tests.e2e_helpers import post_slack_event
from tests.process_harness import ProcessWorld, wait_until
from tests.slack.fake_slack import FakeSlack

AFTER_RESTART = 30.0  # generous bound on this contended machine; a 2-minute lease stall fails it


@pytest.fixture
async def pw(db_url: str, tmp_path: Path) -> AsyncIterator[ProcessWorld]:
    slack, fake_discord = FakeSlack(), FakeDiscord()
    await slack.start()
    await fake_discord.start()
    world = ProcessWorld(slack, fake_discord, tmp_path, db_url)
    try:
        yield world
    finally:
        await world.stop_all()
        await fake_discord.stop()
        await slack.stop()


def staff_reply(card_ts: str, ts: str, text: str) -> dict[str, object]:
    return {"type": "message", "user": "U0000BOB", "text": text, "ts": ts, "thread_ts": card_ts,
            "channel": "C0SEO", "channel_type": "channel"}


def once_in_order(found: list[str], expected: list[str]) -> None:
    counts = Counter(found)
    assert [t for t, n in counts.items() if n > 1] == [], f"relayed twice: {found}"
    assert [e for e in expected if not any(e in f for f in found)] == [], f"lost: {found}"
    positions = [next(i for i, f in enumerate(found) if e in f) for e in expected]
    assert positions == sorted(positions), f"out of order: {found}"


async def test_a_deploy_loses_nothing_written_while_the_bot_was_stopped(pw: ProcessWorld) -> None:
    await pw.open_ticket()
    bot = pw.bot()
    await bot.start()
    await bot.healthy()
    thread, card_ts = await pw.thread_and_card()

    await pw.discord.write(thread, ALICE, "customer live")
    await wait_until(lambda: pw.in_slack_thread(card_ts, "customer live"), 20, "a live customer message")
    bot.signal(signal.SIGTERM)  # a deploy
    assert await bot.stopped() == 0, bot.output()

    away = [f"customer while stopped {i}" for i in range(3)]
    for text in away:
        await pw.discord.write(thread, ALICE, text)  # no gateway session hears these
    staff_away = [f"staff while stopped {i}" for i in range(2)]
    for text in staff_away:
        pw.slack.write_reply("C0SEO", card_ts, "U0000BOB", text)  # Slack's retries are long over

    started = time.monotonic()
    await bot.start()
    await wait_until(lambda: pw.in_slack_thread(card_ts, "customer while stopped") or pw.in_discord_thread(
        thread, "(support): staff while stopped"), AFTER_RESTART, f"a first message written while stopped\n{bot.output()}")
    first = time.monotonic() - started
    await wait_until(lambda: len(pw.in_slack_thread(card_ts, "while stopped")) >= 3
                     and len(pw.in_discord_thread(thread, "staff while stopped")) >= 2,
                     AFTER_RESTART, f"the messages written while stopped {bot.proc.returncode if bot.proc else None}\n{bot.output()}")
    elapsed = time.monotonic() - started
    once_in_order(pw.in_slack_thread(card_ts, "(customer)"), ["customer live", *away])
    once_in_order(pw.in_discord_thread(thread, "(support)"), staff_away)
    print(f"deploy: {len(away)} customer + {len(staff_away)} staff messages written while stopped, "
          f"lost 0, duplicated 0; first delivered {first:.1f} s and all {elapsed:.1f} s after the restart")
    bot.signal(signal.SIGTERM)
    assert await bot.stopped() == 0


async def test_a_crash_loses_no_acknowledged_reply_and_stalls_nothing(pw: ProcessWorld) -> None:
    await pw.open_ticket()
    bot = pw.bot()
    await bot.start()
    await bot.healthy()
    thread, card_ts = await pw.thread_and_card()

    # Slack got 200 for each reply, then the process died at once: each was stored before the 200
    replies = [f"acknowledged reply {i}" for i in range(3)]
    for i, text in enumerate(replies):
        ts = pw.slack.write_reply("C0SEO", card_ts, "U0000BOB", text)
        assert await post_slack_event(bot.slack_port, staff_reply(card_ts, ts, text), f"EvAck{i}") == 200
    await bot.kill()

    # customer messages in flight when it dies again
    await bot.start()
    await bot.healthy()
    burst = [f"burst {i:02d}" for i in range(8)]
    for text in burst:
        await pw.discord.write(thread, ALICE, text)
    await wait_until(lambda: pw.in_slack_thread(card_ts, "burst"), 20, "the first of the burst")
    await bot.kill()
    await pw.discord.write(thread, ALICE, "burst written while crashed")

    delivered_before = len(pw.in_slack_thread(card_ts, "burst"))
    started = time.monotonic()
    await bot.start()
    await wait_until(lambda: len(pw.in_slack_thread(card_ts, "burst")) > delivered_before, AFTER_RESTART,
                     f"a first message after the crash\n{bot.output()}")
    first = time.monotonic() - started
    await wait_until(lambda: len(set(pw.in_slack_thread(card_ts, "burst"))) >= len(burst) + 1
                     and len(pw.in_discord_thread(thread, "acknowledged reply")) >= 3,
                     AFTER_RESTART, f"everything after the crash\n{bot.output()}")
    elapsed = time.monotonic() - started
    once_in_order(pw.in_discord_thread(thread, "(support)"), replies)
    found = pw.in_slack_thread(card_ts, "burst")
    duplicated = sum(n - 1 for n in Counter(found).values())
    # a row the kill caught between Slack's answer and our commit is found by its metadata
    assert duplicated == 0, found
    assert [b for b in [*burst, "burst written while crashed"] if not any(b in f for f in found)] == []
    print(f"crash: 3 acknowledged replies and {len(burst) + 1} customer messages; lost 0, "
          f"duplicated {duplicated}; first delivered {first:.1f} s and all {elapsed:.1f} s after the restart "
          f"({delivered_before} of the burst had been delivered before the kill)")
