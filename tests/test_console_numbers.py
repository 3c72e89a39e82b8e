"""Issue 12 items 3 and 6 in the console: a bad ticket number is refused, never replaced by the
customer's only open ticket, and staff hear the number they typed."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.test_console import EXAMPLES, play

OPEN = ('alice: /ticket open product:seo-suite subject:"Sitemap empty" magento:2.4.6 module:1.3.0 '
        'description:"No products." steps:"Generate." changes:"None"')


async def test_bad_numbers_are_refused_and_the_only_ticket_stays_open(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "licences.csv", tmp_path / "licences.csv")
    script = tmp_path / "numbers.txt"
    script.write_text("\n".join([
        "licences import licences.csv", "clock 2026-12-03T10:00+01:00",
        "alice: /support link email:alice@example.com key:seo-1001", OPEN,
        'alice: /ticket close "#1; DROP TABLE tickets"', "alice: /ticket close abc", "alice: /ticket close -1",
        "alice: /ticket status 99999999999999999999", "alice: /ticket status ²",
        "staff bob: #0 hello", "staff bob: #١ hello", "staff bob: /tickets 99999999999999999999",
        "staff bob: /tickets ²", "alice: /ticket status 1",
    ]) + "\n", encoding="utf-8")
    out = "\n".join(await play(tmp_path, script))
    assert out.count("is not a ticket number") == 6, out
    assert "There is no ticket #0." in out and "There is no ticket #99999999999999999999" in out
    assert "something went wrong" not in out and "Traceback" not in out
    assert "Status: waiting for our answer" in out  # ticket #1 was never closed
    assert "Ticket #1 is closed" not in out
