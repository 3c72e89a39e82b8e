"""The console as a tool: help, quit, Ctrl-C that stops at once, a banner naming the licence line,
a note confirmed, statuses in words, a missing ticket said so, and no log lines in the transcript."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.console_mode import run_console
from supportbot.settings import load_settings
from tests.process_helpers import base_env, supportbot

EXAMPLES = Path(__file__).parent.parent / "examples"
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d+ [A-Z]+ ")


async def interactive(tmp_path: Path, *lines: str, then: signal.Signals | None = None) -> tuple[int, str]:
    env = base_env(tmp_path, SUPPORTBOT_CONFIG=str(EXAMPLES / "policy.toml"))
    env.pop("DATABASE_URL")
    async with supportbot(tmp_path, "console", env=env, stdin=True) as console:
        await console.wait_for(lambda out: any("Type help" in line for line in out))
        for line in lines:
            console.send(line)
        if then is not None:
            await console.wait_for(lambda out: any("note stored" in line for line in out))
            console.signal(then)
        return await console.exit_code(within=15), console.output


async def test_ctrl_c_stops_the_console_at_once_mid_prompt(tmp_path: Path) -> None:
    code, output = await interactive(tmp_path, f"licences import {EXAMPLES / 'licences.csv'}",
                                     "alice: /support link email:alice@example.com key:SEO-1001",
                                     'alice: /ticket open product:seo-suite subject:"Prices are wrong" magento:2.4.6 '
                                     'module:1.3.0 description:"d" steps:"s" changes:"c"',
                                     "staff bob: #1 note: checking", then=signal.SIGINT)
    assert code == 130
    assert "Traceback" not in output and not [line for line in output.splitlines() if LOG_LINE.match(line)]


async def test_help_and_quit(tmp_path: Path) -> None:
    code, output = await interactive(tmp_path, "help", "quit")
    assert code == 0
    assert "Lines the console understands" in output and "staff bob: #N note: internal" in output


def test_the_banner_names_a_licence_line_and_a_key_that_exist() -> None:
    from supportbot.console_mode import BANNER

    keys = {line.split(",")[0] for line in (EXAMPLES / "licences.csv").read_text().splitlines()[1:]}
    assert "licences import examples/licences.csv" in BANNER
    used = re.search(r"key:(\S+)", BANNER)
    assert used is not None and used[1] in keys


async def test_notes_statuses_and_missing_tickets_read_as_words(tmp_path: Path) -> None:
    script = tmp_path / "s.txt"
    script.write_text(f"licences import {EXAMPLES / 'licences.csv'}\n"
                      "alice: /support link email:alice@example.com key:SEO-1001\n"
                      'alice: /ticket open product:seo-suite subject:"Prices are wrong" magento:2.4.6 module:1.3.0 '
                      'description:"d" steps:"s" changes:"c"\n'
                      "staff bob: #1 note: checking the price index\n"
                      "staff bob: /tickets\n"
                      "staff bob: /tickets 9\n")
    out: list[str] = []
    await run_console(load_settings(_env_file=None, supportbot_config=EXAMPLES / "policy.toml"), script, out.append)
    text = "\n".join(out)
    assert "(note stored on #1: staff only, never sent to the customer)" in text
    assert "Status: waiting for staff" in text and "| waiting for staff |" in text and "awaiting_" not in text
    assert "→ slack ephemeral @bob: There is no ticket #9." in text


def test_version_and_each_subcommand_names_the_settings_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and re.fullmatch(r"supportbot \d+\.\d+\.\d+\n", capsys.readouterr().out)
    for command, setting in (("run", "SLACK_APP_TOKEN"), ("console", "not DATABASE_URL"), ("db", "DATABASE_URL"),
                             ("licences", "SUPPORTBOT_CONFIG"), ("discord", "DISCORD_TOKEN"),
                             ("check-config", "every setting")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        shown = " ".join(capsys.readouterr().out.split())
        assert "Reads: " in shown and setting in shown

