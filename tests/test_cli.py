"""The `supportbot` command's own tasks: licence import, db upgrade, check-config, invite URL, scheduler."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.time.clock import ManualClock
from supportbot.cli import main
from supportbot.timers_wiring import start_scheduler
from tests.core_helpers import OPEN_TIME, make_desk


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env, no supportbot.toml here
    for name in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN", "SUPPORTBOT_CONFIG", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    return tmp_path


def test_licence_import_reports_bad_rows_and_exits_non_zero(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = env / "good.csv"
    good.write_text("key,email,product,expires_at\nK1,a@example.com,seo-suite,2027-01-31\n")
    assert main(["licences", "import", str(good)]) == 0
    assert "imported 1 licence(s)" in capsys.readouterr().out
    mixed = env / "mixed.csv"
    mixed.write_text("key,email,product,expires_at\nK2,b@example.com,seo-suite,2027-01-31\n"
                     "K3,not-an-email,seo-suite,2027-01-31\nK4,c@example.com,seo-suite,someday\n")
    assert main(["licences", "import", str(mixed)]) == 1
    out = capsys.readouterr().out
    assert "imported 1 licence(s)" in out and "line 3" in out and "line 4" in out and "2 bad row(s)" in out
    assert main(["licences", "import", str(env / "missing.csv")]) == 2


def test_db_upgrade_and_check_config(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    (env / "supportbot.toml").write_text('[sla]\nresponse = "soon"\n')
    assert main(["check-config"]) == 1
    assert "sla.response" in capsys.readouterr().out


def test_invite_url_has_both_scopes_and_the_permissions(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discord", "invite-url", "--application-id", "123456789012345678"]) == 0
    url = capsys.readouterr().out.strip()
    assert "client_id=123456789012345678" in url and "scope=bot+applications.commands" in url
    assert "permissions=" in url


def test_invite_url_without_token_or_id_explains(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discord", "invite-url"]) == 2
    assert "--application-id" in capsys.readouterr().err


async def test_the_scheduler_sweeps_at_start() -> None:
    """APScheduler only ticks: the first sweep runs at once (catching up on downtime)."""
    from bot.commands import StaffPost
    from bot.customers.accounts import link_account
    from bot.tickets.conversation import staff_post
    from bot.tickets.opening import open_ticket
    from tests.core_helpers import BOB, form, link

    clock = ManualClock(OPEN_TIME)
    desk = make_desk(clock=clock)
    await link_account(desk, link())
    n = (await open_ticket(desk, form())).number
    await staff_post(desk, StaffPost(BOB, "e1", "Answer", "ts1", ticket_number=n))
    clock.advance(days=30)  # everything fell due "while the bot was down"
    scheduler = start_scheduler(desk, every_seconds=3600)
    try:
        for _ in range(200):
            if not desk.uow.state.tickets[n].is_open:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
    finally:
        scheduler.shutdown(wait=False)
    assert desk.uow.state.tickets[n].close_reason.value == "inactivity"  # type: ignore[attr-defined]


def test_a_malformed_access_key_is_reported_without_echoing_it(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ACCESS_ENCRYPTION_KEY", "not-a-fernet-key-zqplantedzq")
    assert main(["check-config"]) == 1
    assert main(["console", "--script", str(env / "missing.txt")]) == 2
    script = env / "empty.txt"
    script.write_text("")
    assert main(["console", "--script", str(script)]) == 2  # refused at start, with a sentence
    out = capsys.readouterr()
    assert "not a Fernet key" in out.out + out.err and "zqplantedzq" not in out.out + out.err


def test_licence_import_of_an_excel_export_from_the_current_directory(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    policy = env / "policy.toml"
    policy.write_text('[[product]]\nsku = "seo-suite"\nname = "SEO Suite"\nstaff_channel = "support-seo"\n')
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(policy))
    where_typed = env / "downloads"
    where_typed.mkdir()
    (where_typed / "export.csv").write_bytes(
        "key;email;product;expires_at\r\nSEO-1;zoé@example.com;seo-suite;2027-01-31\r\n"
        "SEO-2;a@example.com;seo_suite;2027-01-31\r\nseo-1;b@example.com;seo-suite;2027-01-31\r\n"
        "SEO-3;c@example.com;seo-suite;31/12/2027\r\n".encode("cp1252"))
    monkeypatch.setenv("SUPPORTBOT_CALLER_DIR", str(where_typed))  # bin/run runs from the checkout
    assert main(["licences", "import", "export.csv"]) == 1
    out = capsys.readouterr().out
    assert "imported 1 licence(s)" in out and "(read as Windows-1252, separated by semicolons)" in out
    assert "line 3: product 'seo_suite' is not in the policy (its products: seo-suite)" in out
    assert "line 4: key seo-1 is already on line 2: this row was not imported" in out
    assert "line 5: expires_at '31/12/2027' is not a date: write YYYY-MM-DD" in out
