"""The console never touches the production database: it ignores DATABASE_URL, keeps one of its
own, and refuses a --database that holds Slack or Discord tickets (their outbox is not its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.settings import Settings
from tests.production_db import production_database, table_state

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(EXAMPLES / "policy.toml"))
    return tmp_path


async def test_the_console_leaves_the_production_outbox_and_tickets_alone(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    production = f"sqlite+aiosqlite:///{env}/prod.db"
    await production_database(production)
    before = await table_state(production)
    assert before[1] == 1 and any(row for row in before[0])  # a Discord ticket with deliveries pending
    monkeypatch.setenv("DATABASE_URL", production)  # as after `cp .env.example .env`
    import asyncio

    # main() runs its own event loop: call it from a thread of this test's loop
    code = await asyncio.to_thread(main, ["console", "--script", str(EXAMPLES / "demo.txt")])
    assert code == 0
    assert "Ticket #1 is open" in capsys.readouterr().out  # the demo played, from #1, elsewhere
    assert await table_state(production) == before  # nothing leased, delivered or added


async def test_a_database_with_platform_tickets_is_refused(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    production = f"sqlite+aiosqlite:///{env}/prod.db"
    await production_database(production)
    before = await table_state(production)
    script = env / "s.txt"
    script.write_text("clock +1h\n")
    code = await asyncio.to_thread(main, ["console", "--script", str(script), "--database", production])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"supportbot: cannot use the SQLite database {env}/prod.db as the console's: it holds Slack or Discord "
        "tickets, whose messages the console would take; give it a database of its own (--database)")
    assert await table_state(production) == before


async def test_the_interactive_console_keeps_its_own_database(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{env}/prod.db")
    assert await asyncio.to_thread(main, ["console"]) == 0  # stdin is closed: ends at once
    assert (env / "supportbot-console.db").exists() and not (env / "prod.db").exists()


def test_a_console_database_url_that_cannot_be_used_is_one_sentence(env: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["console", "--database", "mysql://x@h/db"]) == 2
    assert capsys.readouterr().err.startswith("supportbot: --database: not a database URL this bot can use")


async def test_a_second_session_on_the_same_database_loses_no_message(env: Path) -> None:
    """Each run numbered its events from 1: the second run's first message was taken for a
    duplicate of the first run's and dropped in silence."""
    import asyncio
    import shutil
    import sqlite3

    shutil.copy(EXAMPLES / "licences.csv", env / "licences.csv")
    first, second = env / "first.txt", env / "second.txt"
    first.write_text("licences import licences.csv\nclock 2026-12-07T09:20+01:00\n"
                     "alice: /support link email:alice@example.com key:SEO-1001\n"
                     'alice: /ticket open product:seo-suite subject:"Sitemap" magento:2.4.6 module:1.3.0 '
                     'description:"Empty." steps:"Generate." changes:"None"\n'
                     "alice: #1 first words\n")
    second.write_text("clock 2026-12-07T09:30+01:00\nalice: #1 second words\n")
    database = f"sqlite+aiosqlite:///{env}/console.db"
    for script in (first, second):
        assert await asyncio.to_thread(main, ["console", "--script", str(script), "--database", database]) == 0
    with sqlite3.connect(env / "console.db") as db:
        bodies = [body for (body,) in db.execute("SELECT body FROM messages WHERE kind = 'customer' ORDER BY id")]
    assert bodies[-2:] == ["first words", "second words"]
