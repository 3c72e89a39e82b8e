"""`supportbot transcript` and the console's files, on the demo's SQLite database."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.console_mode import run_console
from supportbot.memory_cli import report_command, transcript_command
from supportbot.settings import Settings, load_settings

EXAMPLES = Path(__file__).parent.parent / "examples"


def settings_for(db: Path) -> Settings:
    return load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{db}",
                         supportbot_config=EXAMPLES / "policy.toml")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, list[str]]:
    import asyncio

    folder = tmp_path_factory.mktemp("memory")
    settings = settings_for(folder / "demo.db")
    out: list[str] = []
    asyncio.run(run_console(settings, EXAMPLES / "demo.txt", out.append, database=settings.database_url,
                            files_dir=folder / "files"))
    return settings, folder, "\n".join(out).splitlines()


def test_the_console_writes_both_transcripts_on_close_and_says_where(demo: tuple[Settings, Path, list[str]]) -> None:
    _, folder, lines = demo
    staff = folder / "files" / "ticket-1-transcript.html"
    customer = folder / "files" / "ticket-1-transcript-customer.html"
    assert f"→ slack #1 thread: [file: ticket-1-transcript.html] (written to {staff})" in lines
    assert f"→ discord #1 thread: [file: ticket-1-transcript-customer.html] (written to {customer})" in lines
    assert "reproduced with flat catalog enabled" in staff.read_text()
    assert "reproduced with flat catalog enabled" not in customer.read_text()
    assert "the sitemap now lists all 1,240 products" in customer.read_text()


async def test_transcript_command_writes_markdown_to_stdout_and_html_to_a_file(
        demo: tuple[Settings, Path, list[str]], tmp_path: Path) -> None:
    settings, _, _ = demo
    out = io.StringIO()
    assert await transcript_command(settings, 1, "md", False, None, out=out) == 0
    text = out.getvalue()
    assert text.startswith("# Ticket #1: XML sitemap is empty") and "INTERNAL NOTE" in text
    assert "Mon 7 Dec 2026 09:20 (UTC+01:00)" in text
    target = tmp_path / "t.html"
    assert await transcript_command(settings, 1, "html", True, str(target)) == 0
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "internal" not in page.lower() and "flat catalog enabled" not in page


async def test_transcript_of_an_unknown_ticket_is_a_sentence(demo: tuple[Settings, Path, list[str]],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    settings, _, _ = demo
    assert await transcript_command(settings, 99, "html", False, None, out=io.StringIO()) == 1
    assert capsys.readouterr().err.strip() == "supportbot: there is no ticket #99."


def test_the_cli_parses_transcript_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["transcript", "1", "--format", "pdf"])
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


def test_the_console_report_prints_the_summary_and_the_chart_path(demo: tuple[Settings, Path, list[str]]) -> None:
    _, folder, lines = demo
    start = lines.index("> staff bob: /tickets report")
    assert lines[start + 1] == ("→ slack ephemeral @bob: SLA report, Mon 30 Nov 2026 09:20 to Mon 07 Dec 2026 09:20 "
                                "(UTC+01:00)")
    assert "    All products: 1 opened, 1 closed" in lines[start:]
    chart = folder / "files" / "sla-report-2026-12-07.png"
    assert f"→ slack #staff: [file: sla-report-2026-12-07.png] (written to {chart})" in lines
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_report_command_text_csv_and_png(demo: tuple[Settings, Path, list[str]], tmp_path: Path) -> None:
    settings, _, _ = demo
    out = io.StringIO()
    assert await report_command(settings, "text", "2026-12-01", "2026-12-07", None, out=out) == 0
    text = out.getvalue().splitlines()
    assert text[0] == "SLA report, Tue 01 Dec 2026 00:00 to Mon 07 Dec 2026 23:59 (UTC+01:00)"
    # opened Friday 18:30 (closed), answered Monday 09:20: 20 minutes of working time
    assert ("  first answer (working time): average 20m, median 20m, p90 20m (1); within 4h: 1 of 1 (100%)"
            in text)
    out = io.StringIO()
    assert await report_command(settings, "csv", "2026-12-01", "2026-12-07", None, out=out) == 0
    assert out.getvalue().splitlines()[1].startswith("all,All products,1,1,1,0.33,0.33,0.33,1,100.0,")
    png = tmp_path / "chart.png"
    assert await report_command(settings, "png", "2026-12-01", "2026-12-07", str(png)) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_report_command_refuses_bad_input_with_a_sentence(demo: tuple[Settings, Path, list[str]],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    settings, _, _ = demo
    assert await report_command(settings, "png", None, None, None) == 2
    assert "a PNG chart needs --output FILE.png" in capsys.readouterr().err
    assert await report_command(settings, "text", "yesterday", None, None, out=io.StringIO()) == 2
    assert "yesterday is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err
    assert await report_command(settings, "text", "2026-12-09", "2026-12-01", None, out=io.StringIO()) == 2
    assert "The report's period is empty" in capsys.readouterr().err


def test_the_console_rates_once_and_the_report_shows_it(demo: tuple[Settings, Path, list[str]]) -> None:
    _, _, lines = demo
    assert "→ discord #1 thread: How did we do on ticket #1? Rate our support from 1 (poor) to 5 (excellent); " \
           "a comment is welcome." in lines
    assert "→ slack #1 thread: alice rated the support 5/5: quick and clear answer" in lines
    assert "→ discord ephemeral @alice: Ticket #1 has already been rated. Thank you!" in lines
    start = lines.index("> staff bob: /tickets report")
    assert any("closes: resolved 1; satisfaction: 5.0 / 5 (1)" in line for line in lines[start:])
