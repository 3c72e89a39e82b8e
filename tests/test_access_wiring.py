"""Wiring of temporary access: the key from the environment (or a loud temporary one), and the
console's grammar for the form and the staff view."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from adapters.console.parser import CustomerCommand, StaffCardAction, parse_line
from supportbot.bootstrap import make_cipher
from supportbot.settings import SettingsError, load_settings


def test_a_configured_key_reads_what_another_process_wrote() -> None:
    key = Fernet.generate_key().decode()
    first = make_cipher(load_settings(_env_file=None, access_encryption_key=key))
    second = make_cipher(load_settings(_env_file=None, access_encryption_key=key))
    assert second.decrypt(first.encrypt(b"login")) == b"login"


def test_without_a_key_a_temporary_one_is_used_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="supportbot.bootstrap"):
        cipher = make_cipher(load_settings(_env_file=None))
    assert cipher.decrypt(cipher.encrypt(b"x")) == b"x"
    assert "unreadable after a restart" in caplog.text
    with pytest.raises(ValueError):
        make_cipher(load_settings(_env_file=None)).decrypt(cipher.encrypt(b"x"))


def test_a_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as exc:
        make_cipher(load_settings(_env_file=None, access_encryption_key="not-a-key-MYSECRET"))
    assert "ACCESS_ENCRYPTION_KEY" in str(exc.value) and "MYSECRET" not in str(exc.value)


def test_console_grammar_for_access() -> None:
    line = "alice: /ticket access #3 url:https://x.example/admin login:me password:p@ss valid:2026-12-10"
    assert parse_line(line) == CustomerCommand("alice", "ticket", "access", {
        "url": "https://x.example/admin", "login": "me", "password": "p@ss", "valid": "2026-12-10"}, ("#3",))
    assert parse_line("staff bob: #12 /view-access") == StaffCardAction("bob", 12, "view-access")
