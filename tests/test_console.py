"""The console adapter: the demo script end to end on SQLite, and the line grammar."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters.console.parser import (
    CustomerCommand,
    CustomerText,
    ImportLicences,
    MoveClock,
    ParseError,
    SetClock,
    StaffCardAction,
    StaffCommand,
    StaffText,
    parse_line,
)
from supportbot.console_mode import run_console
from supportbot.settings import load_settings

EXAMPLES = Path(__file__).parent.parent / "examples"


async def play(tmp_path: Path, script: Path) -> list[str]:
    out: list[str] = []
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db",
                             supportbot_config=EXAMPLES / "policy.toml")
    await run_console(settings, script, out.append)
    return "\n".join(out).splitlines()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    import asyncio

    return asyncio.run(play(tmp_path_factory.mktemp("demo"), EXAMPLES / "demo.txt"))


def test_every_script_line_is_echoed(demo: list[str]) -> None:
    script = [line for line in (EXAMPLES / "demo.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert [line[2:] for line in demo if line.startswith("> ")] == script


def test_wrong_key_then_link(demo: list[str]) -> None:
    assert any("does not match" in line for line in demo)
    assert any("Your account is linked to alice@example.com" in line for line in demo)


def test_expired_licence_is_refused_with_its_date(demo: list[str]) -> None:
    assert any("One Step Checkout licence expired on 2026-10-31" in line for line in demo)


def test_out_of_hours_open_names_the_next_opening(demo: list[str]) -> None:
    assert any("we open again Mon 7 Dec 2026 09:00" in line for line in demo)
    assert sum("→ discord #1 thread: Our support desk is closed" in line for line in demo) == 1


def test_duplicate_subject_points_to_the_first_ticket(demo: list[str]) -> None:
    assert any("You already have ticket #1 open" in line for line in demo)


def test_note_never_reaches_discord_and_answers_arrive_once(demo: list[str]) -> None:
    discord = [line for line in demo if line.startswith("→ discord")]
    assert not any("flat catalog enabled" in line for line in discord)
    answers = [line for line in discord if line.startswith("→ discord #1 thread: bob (support):")]
    assert len(answers) == 2 and len(set(answers)) == 2
    assert sum(line.startswith("→ email alice@example.com #1") for line in demo) == 2


def test_customer_reply_reaches_the_slack_thread(demo: list[str]) -> None:
    assert sum(line.startswith("→ slack #1 thread: alice (customer): Done") for line in demo) == 1


def test_claim_close_and_closed_ticket_pointer(demo: list[str]) -> None:
    assert any("card updated: Answer due: - | Status: closed, resolved | Assignee: bob" in line for line in demo)
    assert "→ discord #1 thread archived and locked" in demo
    assert any("Ticket #1 is closed. For a new question" in line for line in demo)


async def test_malformed_lines_are_reported_and_the_script_goes_on(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text('clock tomorrow\nalice /ticket open\nalice: /ticket frobnicate\nstaff bob: hello\n'
                      'staff bob: #1 /close because\nalice: /ticket status\nclock +1h\n')
    out = await play(tmp_path, script)
    errors = [line for line in out if line.startswith("! ")]
    assert len(errors) == 4
    assert any("Please link your purchase first" in line for line in out)
    assert any("(clock:" in line for line in out)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('alice: /support link email:a@b.c key:K-1', CustomerCommand("alice", "support", "link", {"email": "a@b.c", "key": "K-1"})),
        ('alice: /ticket open subject:"Two words" magento:2.4.6', CustomerCommand("alice", "ticket", "open", {"subject": "Two words", "magento": "2.4.6"})),
        ("alice: /ticket status 12", CustomerCommand("alice", "ticket", "status", {}, ("12",))),
        ("alice: /ticket list", CustomerCommand("alice", "ticket", "list")),
        ("alice: /ticket close", CustomerCommand("alice", "ticket", "close")),
        ("alice: it's still broken", CustomerText("alice", "it's still broken")),
        ("alice: #12 any text", CustomerText("alice", "any text", 12)),
        ("staff bob: #12 any text", StaffText("bob", 12, "any text")),
        ("staff bob: #12 note: internal", StaffText("bob", 12, "note: internal")),
        ("staff bob: #12 /claim", StaffCardAction("bob", 12, "claim")),
        ("staff bob: #12 /close customisation", StaffCardAction("bob", 12, "close", ("customisation",))),
        ("staff bob: /tickets mine", StaffCommand("bob", ("mine",))),
        ("clock +2d4h30m", MoveClock(timedelta(days=2, hours=4, minutes=30))),
        ("licences import licences.csv", ImportLicences("licences.csv")),
        ("", None),
        ("# a comment", None),
    ],
)
def test_parse_every_line_form(line: str, expected: object) -> None:
    assert parse_line(line) == expected


def test_parse_clock_instant() -> None:
    parsed = parse_line("clock 2026-12-04T16:00+01:00")
    assert isinstance(parsed, SetClock) and parsed.at.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    "line",
    ["alice /ticket open", "alice: /ticket frobnicate", "alice: /hello", 'alice: /ticket open subject:"open quote',
     "staff bob: hello", "staff bob: #3", "staff bob: /help", "clock tomorrow", "clock 2026-12-04T16:00",
     "clock +4x", "alice:", "alice: #4", "licences import"],
)
def test_malformed_lines_say_what_is_wrong(line: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_line(line)
    assert str(info.value)
