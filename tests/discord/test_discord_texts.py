"""Every customer-facing text in English and French, and Discord's length limits on labels."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# sentences of the core that only staff (Slack, console) ever read: English only by design
STAFF_ONLY = {"access_expired_note", "access_none", "access_received_note", "access_requested",
              "access_requested_note", "access_unreadable", "autoclosed_note", "claimed", "console_usage",
              "customer_closed_note", "licence_expired_note", "not_staff", "secret_redacted_staff", "sla_breach",
              "sla_warning", "staff_closed", "staff_closed_note", "staff_ticket_closed", "staff_out_of_scope",
              "access_view_refused", "note_kept_internal",
              "rating_note", "report_bad_date", "report_bad_period", "snippet_sent_note", "snippet_unknown"}


def load(path: str) -> dict[str, str]:
    with (ROOT / path).open("rb") as f:
        return tomllib.load(f)


def test_every_customer_sentence_of_the_core_is_in_french() -> None:
    en, fr = load("bot/locales/en.toml"), load("bot/locales/fr.toml")
    assert set(en) - STAFF_ONLY - set(fr) == set()
    assert STAFF_ONLY <= set(en)


def test_french_email_keeps_the_subject_line_the_mailer_reads() -> None:
    assert load("bot/locales/fr.toml")["answer_email"].startswith("Subject: ")


def test_discord_labels_exist_in_both_languages() -> None:
    assert set(load("adapters/discord/locales/en.toml")) == set(load("adapters/discord/locales/fr.toml"))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_discord_labels_fit_discords_limits(lang: str) -> None:
    labels = load(f"adapters/discord/locales/{lang}.toml")
    for key, text in labels.items():
        if key.endswith(("_label", "_title")):
            assert len(text) <= 45, key  # modal titles and text input labels
        elif key.endswith("_button"):
            assert len(text) <= 80, key
        elif key.startswith(("cmd_", "opt_")):
            assert 1 <= len(text) <= 100, key  # command and option descriptions
