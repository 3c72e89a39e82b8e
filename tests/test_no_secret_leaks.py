"""Secrets in our own house: every secret setting, a pasted password and submitted temporary access
are planted; the console plays the demo and the access flow with logging at DEBUG; then no log
line, no row of any table, no byte of the SQLite files and no check-config report may hold one."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from supportbot.config_report import check_config_report
from supportbot.console_mode import run_console
from supportbot.log_setup import configure_logging
from supportbot.settings import Settings, load_settings

EXAMPLES = Path(__file__).parent.parent / "examples"
PASTED = "SECRET-pasted-Pw-8d2k"
ACCESS_PASSWORD = "SECRET-access-Pw-4q7z"
# A valid Fernet key (43 url-safe base64 characters and "=") that is still recognisable.
FERNET_KEY = "SECRET-access-encryption-key-".ljust(43, "A") + "="

AFTER_DEMO = f"""
alice: /ticket open product:seo-suite subject:"Canonical URLs wrong" magento:2.4.6-p3 module:1.3.0 description:"Canonical tags point to the old domain." steps:"Open a product page." changes:"None"
staff bob: #2 /request-access
alice: #2 to save time, the admin: password: {PASTED}
alice: /ticket access #2 url:https://shop.example.com/admin login:support password:{ACCESS_PASSWORD} valid:2026-12-20
staff bob: #2 /view-access
"""


def secret_fields() -> list[str]:
    return [name for name, f in Settings.model_fields.items()
            if f.annotation is SecretStr or SecretStr in typing.get_args(f.annotation)]


def planted_settings(db: Path, log_format: str = "text") -> tuple[Settings, dict[str, str]]:
    planted = {name: f"SECRET-{name}-XYZ-7731" for name in secret_fields()}
    planted["access_encryption_key"] = FERNET_KEY
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{db}", log_level="DEBUG",
                             log_format=log_format, supportbot_config=EXAMPLES / "policy.toml", **planted)
    return settings, planted


@pytest.fixture
def captured_logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """(what the configured handler writes, every record unfiltered); logging restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    masked, raw = io.StringIO(), io.StringIO()
    yield masked, raw
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


def install(settings: Settings, masked: io.StringIO, raw: io.StringIO) -> None:
    configure_logging(settings)
    root = logging.getLogger()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(masked)
    # before the masking filter rewrites records: proves secrets are never logged, not just masked
    unfiltered = logging.StreamHandler(raw)
    unfiltered.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.handlers.insert(0, unfiltered)


def every_row(db: Path) -> list[tuple[str, object]]:
    with sqlite3.connect(db) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [(table, value) for table in tables
                for row in connection.execute(f'SELECT * FROM "{table}"') for value in row]


def holds(value: object, secret: str) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return secret.encode() in bytes(value)
    return secret in str(value)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_planted_secret_reaches_logs_rows_files_or_reports(
    tmp_path: Path, captured_logs: tuple[io.StringIO, io.StringIO], log_format: str
) -> None:
    masked, raw = captured_logs
    db = tmp_path / "leak.db"
    settings, planted = planted_settings(db, log_format)
    assert len(planted) >= 6  # every SecretStr setting got one
    install(settings, masked, raw)
    logging.getLogger("supportbot.test").debug("settings: %r", settings)  # as a careless debug line would
    script = tmp_path / "script.txt"
    demo = (EXAMPLES / "demo.txt").read_text(encoding="utf-8")
    demo = demo.replace("licences import licences.csv", f"licences import {EXAMPLES / 'licences.csv'}")
    script.write_text(demo + AFTER_DEMO, encoding="utf-8")
    out: list[str] = []
    await run_console(settings, script, out.append, database=settings.database_url)
    transcript = "\n".join(out)

    # the flow really ran: the paste was redacted, access stored and shown to staff only
    assert "Ticket #2 is open" in transcript
    assert "[redacted: password]" in transcript
    assert "→ slack ephemeral @bob: Temporary access for ticket #2" in transcript
    assert f"Password: {ACCESS_PASSWORD}" in transcript
    assert "password:***" in transcript and f"password:{ACCESS_PASSWORD}" not in transcript  # echo masked
    ok, report = check_config_report(settings)

    rows = every_row(db)
    assert any(table == "access_grants" for table, _ in rows)
    files = b"".join(p.read_bytes() for p in tmp_path.glob("leak.db*"))  # the database, its WAL
    logs = {"configured handler": masked.getvalue(), "unfiltered records": raw.getvalue()}
    assert "DEBUG supportbot.test: settings:" in logs["unfiltered records"]  # capture works, at DEBUG
    if log_format == "json":  # every line is one object a log shipper can read
        lines = [json.loads(line) for line in masked.getvalue().splitlines()]
        assert lines and all({"timestamp", "level", "logger", "message"} <= line.keys() for line in lines)
        assert any(line["logger"] == "supportbot.test" and line["level"] == "DEBUG" for line in lines)
    for secret in [*planted.values(), PASTED, ACCESS_PASSWORD]:
        for where, text in logs.items():
            assert secret not in text, f"{secret} in the {where}"
        assert [table for table, value in rows if holds(value, secret)] == [], secret
        assert secret.encode() not in files, secret
        assert secret not in report, secret


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_in_messages_and_exceptions_are_masked_in_both_formats(
    tmp_path: Path, captured_logs: tuple[io.StringIO, io.StringIO], log_format: str
) -> None:
    """A library that puts a configured secret into a message or an exception (a DSN, a token in
    a URL): the configured handler masks it, whichever the format."""
    masked, raw = captured_logs
    settings, planted = planted_settings(tmp_path / "x.db", log_format)
    configure_logging(settings)
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(masked)
    token = planted["slack_bot_token"]
    logging.getLogger("slack_sdk.web").warning("call with %s failed", token)
    try:
        raise ConnectionError(f"login refused for {planted['smtp_password']}")
    except ConnectionError:
        logging.getLogger("adapters.email.smtp").exception("sending failed")
    text = masked.getvalue()
    assert token not in text and planted["smtp_password"] not in text
    assert "call with *** failed" in text and "login refused for ***" in text
    if log_format == "json":
        first, second = (json.loads(line) for line in text.splitlines())
        assert (first["level"], first["logger"], first["platform"]) == ("WARNING", "slack_sdk.web", "slack")
        assert second["platform"] == "email" and "ConnectionError" in second["exception"]
