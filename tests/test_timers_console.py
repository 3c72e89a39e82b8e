"""The console moves its clock and runs the same sweep: the reminders show up in the transcript."""

from __future__ import annotations

from pathlib import Path

from supportbot.console_mode import run_console
from supportbot.settings import load_settings

POLICY = Path(__file__).parent.parent / "examples" / "policy.toml"
SCRIPT = """\
licences import licences.csv
# Friday 4 December 2026, 16:30 GMT+1: 1h30 of working time left this week
clock 2026-12-04T16:30+01:00
alice: /support link email:alice@example.com key:SEO-1
alice: /ticket open product:seo-suite subject:"Canonical tags missing" magento:2.4.6 module:1.3.0 description:"No canonical tag." steps:"Open a product page." changes:"None"
# Monday 10:29, then 10:30: one working hour before the deadline
clock +2d17h59m
clock +1m
# 11:30: the deadline
clock +1h
clock +1m
staff bob: #1 Please enable Stores > Configuration > SEO > Canonical.
clock +7d
clock +18d
clock +3d
clock +10d
"""


async def test_moving_the_console_clock_shows_every_reminder(tmp_path: Path) -> None:
    (tmp_path / "licences.csv").write_text("key,email,product,expires_at\nSEO-1,alice@example.com,seo-suite,2027-06-30\n")
    script = tmp_path / "timers.txt"
    script.write_text(SCRIPT)
    out: list[str] = []
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db",
                             supportbot_config=POLICY)
    await run_console(settings, script, out.append)
    lines = "\n".join(out).splitlines()

    echoes = [i for i, line in enumerate(lines) if line.startswith("> ")]
    # what each script line printed, up to the next echoed line
    printed_by = [(lines[i], lines[i + 1:j]) for i, j in zip(echoes, [*echoes[1:], len(lines)], strict=True)]
    printed = [out for command, out in printed_by if command.startswith("> clock +")]
    quiet, warning, breach, after_breach = printed[:4]
    assert not any(line.startswith("→") for line in quiet)
    assert ['→ slack #1 thread: @support-seo Ticket #1 "Canonical tags missing" must be answered by '
            'Mon 7 Dec 2026 11:30 (UTC+01:00) (the answer promise).'] == [out for out in warning if out.startswith("→")]
    assert any(line.startswith("→ slack #1 thread: @support-seo Ticket #1") and "has not been answered" in line
               and "due Mon 7 Dec 2026 11:30" in line for line in breach)
    assert any("card updated: Answer due: - | Status: waiting for staff" in line for line in breach)
    assert not any(line.startswith("→") for line in after_breach)

    nudge, autoclose_warning, autoclose, later = printed[4:]
    assert [out for out in nudge if out.startswith("→")] == [
        "→ discord #1 thread: Has your question in ticket #1 been answered? If so, please close the ticket "
        "with the button or /ticket close 1."]
    assert [out for out in autoclose_warning if out.startswith("→")] == [
        "→ discord #1 thread: Ticket #1 has had no reply from you for a while and will close automatically on "
        "Mon 4 Jan 2027 11:31 (UTC+01:00). Write here to keep it open."]
    assert "→ discord #1 thread: Ticket #1 has been closed after 4 weeks without a reply. For a new question, " \
           "please open a new ticket." in autoclose
    assert "→ discord #1 thread archived and locked" in autoclose
    assert any(line.startswith("→ slack #1 thread: Ticket #1 closed automatically") for line in autoclose)
    assert any("card updated: Answer due: - | Status: closed, inactivity" in line for line in autoclose)
    assert not any(line.startswith("→") for line in later)
    answer = dict(printed_by)["> staff bob: #1 Please enable Stores > Configuration > SEO > Canonical."]
    assert any(line.startswith("→ discord #1 thread: bob (support): Please enable") for line in answer)
