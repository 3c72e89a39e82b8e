"""A customer's data under the vendor's control: `supportbot customer show|forget|unlink` and
`supportbot licences revoke`, on SQLite and PostgreSQL, after the console played a whole ticket
(link with a wrong key first, open, note, answer, a pasted password, temporary access)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import CloseReason
from bot.time import deadlines
from bot.time.clock import ManualClock
from bot.time.timers import sweep
from storage.engine import make_engine
from supportbot.bootstrap import build_runtime
from supportbot.cli import main
from supportbot.clock import SystemClock
from supportbot.console_mode import run_console
from supportbot.settings import load_settings

EXAMPLES = Path(__file__).parent.parent / "examples"
LICENCES = """key,email,product,expires_at
SEO-ALICE-77,alice.quokka@example.com,seo-suite,2099-06-30
SEO-CAROL-88,carol@example.com,seo-suite,2099-06-30
"""
# everything Alice is or wrote: none of it may survive `customer forget`
ALICE_TRACES = ["alice", "Quokka", "quokka", "SEO-ALICE-77", "Zanzibar", "Hunter22"]
SCRIPT = """licences import {csv}
alice: /support link email:alice.quokka@example.com key:SEO-ALICE-00
alice: /support link email:alice.quokka@example.com key:SEO-ALICE-77
alice: /ticket open product:seo-suite subject:"Zanzibar widget crashes" magento:2.4.6 module:1.3.0 description:"Quokka description" steps:"Quokka steps" changes:"Quokka changes" errors:"Quokka errors"
staff bob: #1 note: Quokka internal note
staff bob: #1 Hello alice, the Quokka answer
alice: #1 Quokka reply, my admin password is Hunter22!x
staff bob: #1 /request-access
alice: /ticket access #1 url:https://quokka.example.com/admin login:quokkaadmin password:Quokka-pw-9 valid:2099-12-20
carol: /support link email:carol@example.com key:SEO-CAROL-88
carol: /ticket open product:seo-suite subject:"Canonical tags" magento:2.4.6 module:1.3.0 description:"Carol's own words" steps:"Open a page" changes:"None"
"""


async def every_value(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every column of every row of every table."""
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        found = []
        for table in tables:
            result = await conn.execute(text(f'SELECT * FROM "{table}"'))
            for row in result:
                for column, value in row._mapping.items():
                    shown = bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
                    found.append((table, str(column), shown))
        return found


def traces(values: list[tuple[str, str, str]], needles: list[str]) -> list[tuple[str, str, str]]:
    return [(t, c, v) for t, c, v in values if any(n.lower() in v.lower() for n in needles)]


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN", "LICENCE_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(EXAMPLES / "policy.toml"))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield db_url
    root.handlers[:], root.level = saved[0], saved[1]  # main() configured logging onto a capture stream


async def play(db_url: str, tmp_path: Path) -> str:
    csv = tmp_path / "licences.csv"
    csv.write_text(LICENCES)
    script = tmp_path / "script.txt"
    script.write_text(SCRIPT.format(csv=csv))
    settings = load_settings(_env_file=None, database_url=db_url, supportbot_config=EXAMPLES / "policy.toml")
    out: list[str] = []
    await run_console(settings, script, out.append, database=db_url)
    return "\n".join(out)


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_forget_leaves_no_trace_of_the_customer_in_any_column_of_any_table(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transcript = await play(cli_env, tmp_path)
    assert "Ticket #1 is open" in transcript and "Ticket #2 is open" in transcript
    assert "[redacted: password]" in transcript
    engine = make_engine(cli_env)
    try:
        before = await every_value(engine)
        # the flow wrote her into many tables: the scan would see her if she were left anywhere
        assert {t for t, _, _ in traces(before, ALICE_TRACES)} >= {
            "accounts", "identities", "licences", "tickets", "messages", "outbox", "audit_log", "link_attempts"}

        assert await cli("customer", "show", "Alice.Quokka@example.com") == 0
        shown = capsys.readouterr().out
        assert "account alice.quokka@example.com" in shown and "console alice" in shown
        assert "#1 seo-suite awaiting_staff: 'Zanzibar widget crashes'" in shown and "SEO-ALICE-77" in shown

        assert await cli("customer", "forget", "alice.quokka@example.com") == 1  # ticket #1 is open
        assert "has open tickets (#1)" in capsys.readouterr().err
        assert traces(await every_value(engine), ALICE_TRACES)  # refused: nothing erased

        assert await cli("customer", "forget", "alice.quokka@example.com", "--close-open") == 0
        assert "forgot alice.quokka@example.com: 1 ticket(s)" in capsys.readouterr().out

        after = await every_value(engine)
        assert traces(after, ALICE_TRACES) == []
        # Carol is untouched, and Alice's ticket remains as an anonymous statistic
        assert traces(after, ["carol@example.com", "Carol's own words", "SEO-CAROL-88"])
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT product, status, close_reason, opened_at, closed_at, first_response_at, subject "
                "FROM tickets WHERE id = 1"))).one()
            assert (row.product, row.status, row.close_reason, row.subject) == ("seo-suite", "closed", "erased",
                                                                                "[erased]")
            assert row.opened_at and row.closed_at and row.first_response_at
            audit = (await conn.execute(text(
                "SELECT detail FROM audit_log WHERE action = 'customer_forgotten'"))).scalars().all()
            assert len(audit) == 1 and "alice" not in str(audit).lower()
            access = (await conn.execute(text("SELECT count(*) FROM access_grants"))).scalar_one()
            assert access == 0

        assert await cli("customer", "show", "alice.quokka@example.com") == 1
        assert "no customer with the e-mail" in capsys.readouterr().err
    finally:
        await engine.dispose()


async def test_unlink_and_revoke(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await play(cli_env, tmp_path)
    assert await cli("customer", "unlink", "console", "nobody") == 1
    assert "no linked identity console nobody" in capsys.readouterr().err
    assert await cli("customer", "unlink", "console") == 2

    assert await cli("licences", "revoke", "NO-SUCH-KEY") == 1
    assert "no licence with the key NO-SUCH-KEY" in capsys.readouterr().err
    assert await cli("licences", "revoke", "SEO-CAROL-88") == 0
    assert "1 open ticket(s) are treated as after an expiry" in capsys.readouterr().out

    # the next sweep handles Carol's ticket like an expiry: the example policy closes it
    settings = load_settings(_env_file=None, database_url=cli_env, supportbot_config=EXAMPLES / "policy.toml")
    runtime = await build_runtime(settings, ManualClock(SystemClock().now() + timedelta(minutes=1)))
    try:
        await sweep(runtime.desk)
        async with runtime.desk.uow() as uow:
            carol = await uow.tickets.get(2)
            assert carol is not None and carol.close_reason is not None
            assert carol.close_reason.value == "licence-expired"
    finally:
        await runtime.close()

    assert await cli("customer", "unlink", "console", "carol") == 0
    assert "unlinked console user carol" in capsys.readouterr().out
    assert await cli("customer", "show", "carol@example.com") == 0
    assert "linked identities: none" in capsys.readouterr().out


async def test_retention_erases_the_texts_of_tickets_closed_long_ago(cli_env: str, tmp_path: Path) -> None:
    await play(cli_env, tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text((EXAMPLES / "policy.toml").read_text() + '\n[retention]\nmessages_after = "365d"\n')
    settings = load_settings(_env_file=None, database_url=cli_env, supportbot_config=policy)
    clock = ManualClock(SystemClock().now())
    runtime = await build_runtime(settings, clock)
    engine = runtime.store.engine
    try:
        async with runtime.desk.uow() as uow:  # Alice's ticket is closed today
            ticket = await uow.tickets.get_for_update(1)
            assert ticket is not None
            deadlines.close(ticket, clock.now(), CloseReason.RESOLVED, "staff:bob")
            await uow.tickets.save(ticket)
            await uow.commit()
        clock.advance(timedelta(days=364))
        assert await runtime.apply_retention() == 0  # not a year yet
        assert traces(await every_value(engine), ["Quokka answer", "Zanzibar"])
        clock.advance(timedelta(days=2))
        assert await runtime.apply_retention() == 1
        assert await runtime.apply_retention() == 0  # done once
        after = await every_value(engine)
        texts = ["Quokka answer", "Quokka internal note", "Quokka description", "Zanzibar", "Quokka reply"]
        assert traces(after, texts) == []
        assert traces(after, ["Carol's own words"])  # an open ticket keeps its texts
        async with runtime.desk.uow() as uow:  # the statistics stay
            kept = await uow.tickets.get(1)
            assert kept is not None and kept.close_reason is CloseReason.RESOLVED and kept.first_response_at
            messages = await uow.messages.for_ticket(1)
            assert len(messages) == 3 and {m.body for m in messages} == {""}  # counted, not read
    finally:
        await runtime.close()
