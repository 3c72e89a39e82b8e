"""`supportbot run` as a real subprocess between the local platform fakes (which run in the test's
event loop): start it, wait until it serves /health, SIGTERM or SIGKILL it, start it again on the
same database. What the tests of the process's life (issue 10) are built on."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet

from bot.commands import Customer, LinkAccount, OpenTicket
from bot.customers.accounts import link_account
from bot.customers.licences import import_licences
from bot.tickets.opening import open_ticket
from storage.engine import make_connection_factory, make_engine
from storage.uow import sql_uow_factory
from supportbot.bootstrap import build_runtime
from supportbot.clock import SystemClock
from supportbot.settings import Settings, load_settings
from tests.discord import payloads as p
from tests.discord.fake_discord import FakeDiscord
from tests.discord.flows import ALICE
from tests.e2e_helpers import LICENCES, free_port
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.harness import SECRET

ROOT = Path(__file__).resolve().parent.parent
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def always_open_policy(response: str = "4h", warn_before: str = "30m") -> str:
    """Open around the clock, so no out-of-hours notice depends on when the test runs."""
    hours = "\n".join(f'hours.{d} = ["00:00-24:00"]' for d in DAYS)
    return f"""
[calendar]
timezone = "UTC"
{hours}

[sla]
response = "{response}"
warn_before = "{warn_before}"

[[product]]
sku = "seo-suite"
name = "SEO Suite"
staff_channel = "support-seo"
"""


async def wait_until(check: Callable[[], Any], within: float, what: str, bot: BotProcess | None = None) -> Any:
    """Poll a condition on the fakes (served by this loop) until it holds. On time out, the
    failure carries `bot`'s log as it is then, with what each of its tasks awaits (SIGUSR1)."""
    deadline = time.monotonic() + within
    while not (result := check()):
        if time.monotonic() > deadline:
            state = f"\n{await bot.stacks()}" if bot is not None else ""
            raise AssertionError(f"not within {within} s: {what}{state}")
        await asyncio.sleep(0.05)
    return result


@dataclass
class BotProcess:
    env: dict[str, str]
    cwd: Path
    log: Path
    health_port: int
    slack_port: int
    proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "supportbot", "run", cwd=self.cwd, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT)

    async def healthy(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.proc is not None and self.proc.returncode is None, self.output()
                try:
                    async with session.get(f"http://127.0.0.1:{self.health_port}/health") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"no /health within {within} s:\n{self.output()}")
                await asyncio.sleep(0.1)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def stopped(self, within: float = 20.0) -> int:
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"did not stop within {within} s:\n{self.output()}") from None

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        self.signal(signal.SIGKILL)
        await self.stopped()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    async def stacks(self) -> str:
        """The log after the process wrote what each of its tasks awaits (its SIGUSR1 handler)."""
        if self.proc is not None and self.proc.returncode is None:
            self.signal(signal.SIGUSR1)
            await asyncio.sleep(1.0)
        return self.log.read_text(errors="replace")[-12000:] if self.log.exists() else ""


@dataclass
class ProcessWorld:
    """Both fakes, a policy and a database for `supportbot run` processes."""

    slack: FakeSlack
    discord: FakeDiscord
    tmp: Path
    db_url: str
    policy: str = field(default_factory=always_open_policy)
    key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    bots: list[BotProcess] = field(default_factory=list)

    def env(self, slack_port: int, health_port: int, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
        env.update({
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO",
            "DATABASE_URL": self.db_url, "SUPPORTBOT_CONFIG": str(self.tmp / "supportbot.toml"),
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": self.slack.api_url,
            "SLACK_HTTP_PORT": str(slack_port), "HEALTH_PORT": str(health_port),
            "DISCORD_TOKEN": "fake-discord-token", "DISCORD_GUILD_ID": str(p.GUILD_ID),
            "DISCORD_SUPPORT_CHANNEL_ID": str(p.SUPPORT_ID), "DISCORD_API_URL": f"{self.discord.url}/api/v10",
            "DISCORD_GATEWAY_URL": self.discord.url.replace("http", "ws") + "/gateway",
            "ACCESS_ENCRYPTION_KEY": self.key, **extra,
        })
        return env

    def bot(self, name: str = "bot", **extra: str) -> BotProcess:
        (self.tmp / "supportbot.toml").write_text(self.policy, encoding="utf-8")
        slack_port, health_port = free_port(), free_port()
        bot = BotProcess(self.env(slack_port, health_port, **extra), self.tmp, self.tmp / f"{name}.log",
                         health_port, slack_port)
        self.bots.append(bot)
        return bot

    async def open_ticket(self, subject: str = "Sitemap is empty") -> int:
        """Alice links and opens a ticket through the core, on the bots' database (the bots then
        deliver its thread and card)."""
        (self.tmp / "supportbot.toml").write_text(self.policy, encoding="utf-8")
        settings = load_settings(_env_file=None, database_url=self.db_url,
                                 supportbot_config=self.tmp / "supportbot.toml")
        runtime = await build_runtime(settings, SystemClock())
        try:
            await import_licences(runtime.store.uow, LICENCES)
            alice = Customer("discord", ALICE["id"], "Alice")
            await link_account(runtime.desk, LinkAccount(alice, "alice@example.com", "SEO-ALICE"))
            opened = await open_ticket(runtime.desk, OpenTicket(
                alice, "seo-suite", subject, "2.4.6", "1.3.0", "No products in the XML.",
                "Generate it.", "None."))
            return opened.number
        finally:
            await runtime.close()

    async def thread_and_card(self, within: float = 30.0) -> tuple[int, str]:
        """Wait for the ticket's Discord thread and Slack card; (thread id, card ts)."""
        created = await wait_until(lambda: self.discord.find("POST", rf"/channels/{p.SUPPORT_ID}/threads"),
                                   within, "the ticket's Discord thread")
        cards = await wait_until(lambda: [c for c in self.slack.called("chat.postMessage")
                                          if c.get("channel") == "C0SEO" and not c.get("thread_ts")],
                                 within, "the ticket's Slack card")
        assert len(created) == 1 and len(cards) == 1, (created, cards)
        thread = int(next(iter(c for c in self.discord.channels if c != p.SUPPORT_ID)))
        card_ts = next(m["ts"] for m in self.slack.history["C0SEO"] if not m.get("thread_ts"))
        return thread, card_ts

    async def refs(self, number: int, within: float = 30.0) -> tuple[int, str]:
        """Once the bots delivered them: the ticket's Discord thread id and Slack card ts."""
        engine = make_engine(self.db_url)
        try:
            uow = sql_uow_factory(make_connection_factory(engine))
            deadline = time.monotonic() + within
            while True:
                async with uow() as tx:
                    ticket = await tx.tickets.get(number)
                if ticket and ticket.customer_thread_ref and ticket.staff_thread_ref:
                    return int(ticket.customer_thread_ref), ticket.staff_thread_ref.split(":", 1)[1]
                if time.monotonic() > deadline:
                    raise AssertionError(f"ticket #{number} has no thread and card after {within} s")
                await asyncio.sleep(0.1)
        finally:
            await engine.dispose()

    def in_slack_thread(self, card_ts: str, marker: str) -> list[str]:
        return [c["text"] for c in self.slack.called("chat.postMessage")
                if c.get("thread_ts") == card_ts and marker in (c.get("text") or "")]

    def in_discord_thread(self, thread: int, marker: str) -> list[str]:
        """The messages that exist in the thread (a retried post Discord deduplicated counts once)."""
        return [m["content"] for _, m in sorted(self.discord.messages.items())
                if int(m["channel_id"]) == thread and marker in (m.get("content") or "")]

    async def stop_all(self) -> None:
        for bot in self.bots:
            if bot.proc is not None and bot.proc.returncode is None:
                bot.proc.kill()
                await bot.proc.wait()
