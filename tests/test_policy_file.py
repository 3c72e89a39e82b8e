"""The policy TOML: the documented sample loads, defaults apply, and every mistake is named by its key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.policy import ManualPage, Product
from supportbot.config_report import check_config_report
from supportbot.policy_file import PolicyError, load_policy
from supportbot.settings import Settings, SettingsError, load_settings, redacted_summary

SAMPLE = """
[calendar]
timezone = "+01:00"            # a fixed offset or an IANA name such as "Europe/Paris"
hours.mon = ["09:00-12:00", "14:00-18:00"]   # likewise tue..sun; a missing day is closed
holidays = ["2026-12-25"]
country = "FR"                 # optional: public holidays of that country

[sla]
response = "4h"
warn_before = "1h"
nudge_after = "7d"
auto_close_after = "28d"
auto_close_warning = "3d"

[limits]
open_tickets_per_customer = 5
link_attempts_per_hour = 5

[desk]                          # optional, the rest of Policy's fields
note_prefix = "note:"
on_licence_expiry = "close"    # or "warn"
renew_url = "https://example.com/renew"
leads = ["U123"]
dm_on_answer = false
email_on_answer = true
subject_similarity = 85

[[product]]
sku = "seo-suite"
name = "SEO Suite"
staff_channel = "support-seo"
manual = [{ title = "Sitemap settings", url = "https://docs.example.com/seo/sitemap", keywords = ["sitemap", "xml"] }]
"""

PLUS_ONE = timezone(timedelta(hours=1))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(write(tmp_path, text))
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_the_documented_sample_loads(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, SAMPLE))

    assert policy.products == {
        "seo-suite": Product(
            sku="seo-suite",
            name="SEO Suite",
            staff_channel="support-seo",
            manual=(
                ManualPage("Sitemap settings", "https://docs.example.com/seo/sitemap", ("sitemap", "xml")),
            ),
        )
    }
    assert policy.sla.response == timedelta(hours=4)
    assert policy.sla.auto_close_after == timedelta(days=28)
    assert policy.renew_url == "https://example.com/renew"
    assert policy.leads == ("U123",)
    assert (policy.dm_on_answer, policy.email_on_answer, policy.on_licence_expiry) == (False, True, "close")
    calendar = policy.calendar
    # Only Monday is open in the sample: Monday 7 Dec 2026 10:00 +01:00 is open, Tuesday is not.
    assert calendar.is_open(datetime(2026, 12, 7, 10, 0, tzinfo=PLUS_ONE))
    assert not calendar.is_open(datetime(2026, 12, 8, 10, 0, tzinfo=PLUS_ONE))
    assert not calendar.is_open(datetime(2026, 12, 7, 13, 0, tzinfo=PLUS_ONE))
    # Fixed holiday 2026-12-25 and French public holidays (Easter Monday 2026 is 6 April).
    assert calendar.is_holiday(date(2026, 12, 25))
    assert calendar.is_holiday(date(2026, 4, 6))


def test_none_gives_the_vendor_defaults_without_products() -> None:
    policy = load_policy(None)

    assert policy.products == {}
    assert policy.sla.warn_before == timedelta(hours=1)
    assert policy.calendar.describe_hours() == "Monday to Friday, 09:00-12:00 and 14:00-18:00 (UTC+01:00)"


def test_missing_sections_and_hours_take_the_defaults(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, '[calendar]\ntimezone = "Europe/Paris"\n[sla]\nresponse = "2h"\n'))

    assert policy.sla.response == timedelta(hours=2)
    assert policy.sla.nudge_after == timedelta(days=7)
    assert policy.open_tickets_per_customer == 5
    assert policy.calendar.describe_hours() == "Monday to Friday, 09:00-12:00 and 14:00-18:00 (Europe/Paris)"
    # Wednesday 1 July 2026 at 17:30 in Paris (summer time, UTC+2) is open; 18:30 is not.
    assert policy.calendar.is_open(datetime(2026, 7, 1, 15, 30, tzinfo=UTC))
    assert not policy.calendar.is_open(datetime(2026, 7, 1, 16, 30, tzinfo=UTC))


def test_an_end_of_24_00_and_weekend_hours_are_accepted(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, '[calendar]\ntimezone = "UTC"\nhours.sat = ["20:00-24:00"]\n'))

    assert policy.calendar.is_open(datetime(2026, 7, 4, 23, 59, tzinfo=UTC))
    assert not policy.calendar.is_open(datetime(2026, 7, 6, 10, 0, tzinfo=UTC))  # a Monday


def test_every_mistake_is_listed_with_its_key(tmp_path: Path) -> None:
    text = """
colour = "blue"
[calendar]
timezone = "Mars/Olympus"
hours.mon = ["9-12", "14:00-13:00"]
hours.tue = ["09:00-12:00", "11:00-13:00"]
hours.funday = ["09:00-10:00"]
holidays = ["2026-12-25", 2026-12-26, "Christmas"]
country = "XX"
[sla]
response = "4x"
warn_before = 3
[limits]
open_tickets_per_customer = 0
link_attempts_per_hour = "5"
[desk]
on_licence_expiry = "delete"
subject_similarity = 150
[[product]]
sku = "a"
name = "A"
staff_channel = "c"
[[product]]
name = "B"
staff_channel = ""
[[product]]
sku = "a"
name = "A again"
staff_channel = "d"
manual = [{ title = "t", url = "nope" }]
"""
    problems = problems_of(tmp_path, text)

    keys = [line.split(":", 1)[0] for line in problems]
    assert keys == [
        "colour",
        "calendar.timezone",
        "calendar.hours.mon[0]",
        "calendar.hours.mon[1]",
        "calendar.hours.tue",
        "calendar.hours.funday",
        "calendar.holidays[2]",
        "calendar.country",
        "sla.response",
        "sla.warn_before",
        "limits.open_tickets_per_customer",
        "limits.link_attempts_per_hour",
        "desk.on_licence_expiry",
        "desk.subject_similarity",
        "product[1].sku",
        "product[1].staff_channel",
        "product[2].manual[0].url",
    ]
    assert "calendar.hours.mon[0]: '9-12' is not HH:MM-HH:MM" in problems
    assert "sla.response: '4x' is not a duration: use e.g. 4h, 30m, 2d4h30m" in problems
    assert "limits.open_tickets_per_customer: must be a positive integer" in problems
    assert "product[1].sku: missing" in problems
    assert "calendar.holidays[2]: 'Christmas' is not a date (YYYY-MM-DD)" in problems
    assert "desk.on_licence_expiry: must be 'close' or 'warn', not 'delete'" in problems


def test_cross_field_rules(tmp_path: Path) -> None:
    text = """
[sla]
response = "1h"
warn_before = "1h"
auto_close_after = "3d"
auto_close_warning = "4d"
[[product]]
sku = "a"
name = "A"
staff_channel = "c"
[[product]]
sku = "a"
name = "A bis"
staff_channel = "c2"
"""
    assert problems_of(tmp_path, text) == [
        "sla.warn_before: must be shorter than sla.response",
        "sla.auto_close_warning: must be shorter than sla.auto_close_after",
        "product[1].sku: 'a' is already used by another product",
    ]


def test_a_calendar_with_no_open_day_is_refused(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "[calendar]\nhours.mon = []\n") == [
        "calendar.hours: the calendar has no working hours"
    ]


def test_a_single_product_table_is_explained(tmp_path: Path) -> None:
    assert problems_of(tmp_path, '[product]\nsku = "a"\n') == ["product: must be [[product]] tables"]


def test_toml_syntax_error_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[sla]\nresponse = "4h"\nwarn_before = 1h\n')

    assert len(problems) == 1
    assert "TOML syntax error" in problems[0]
    assert "line 3" in problems[0]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "nope.toml")


def test_check_config_report_shows_the_policy_and_hides_secrets(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        supportbot_config=write(tmp_path, SAMPLE),
        slack_bot_token=SecretStr("xoxb-very-secret"),
        slack_app_token=SecretStr("xapp-very-secret"),
        database_url="postgresql+asyncpg://bot:hunter2@db:5432/support",
    )

    ok, text = check_config_report(settings)

    assert ok
    assert "seo-suite: SEO Suite -> staff channel support-seo" in text
    assert "Monday, 09:00-12:00 and 14:00-18:00" in text
    assert "SLACK_BOT_TOKEN = set (hidden)" in text
    assert "DISCORD_TOKEN = not set" in text
    assert "DATABASE_URL = postgresql+asyncpg://bot:***@db:5432/support" in text
    for secret in ("xoxb-very-secret", "xapp-very-secret", "hunter2"):
        assert secret not in text


def test_check_config_report_fails_on_a_broken_policy_and_on_platforms_without_products(tmp_path: Path) -> None:
    broken = Settings(_env_file=None, supportbot_config=write(tmp_path, '[sla]\nresponse = "soon"\n'))  # type: ignore[call-arg]
    ok, text = check_config_report(broken)
    assert not ok
    assert "sla.response: 'soon' is not a duration" in text

    # trying it out (no platform): the example policy of the checkout is used and named
    ok, text = check_config_report(Settings(_env_file=None))  # type: ignore[call-arg]
    assert ok and "examples/policy.toml" in text and "seo-suite" in text

    # a platform set and no product: the bot would refuse to start, so check-config fails (issue 11)
    slack = Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1")  # type: ignore[call-arg]
    ok, text = check_config_report(slack)
    assert not ok
    assert "Products: none" in text and "INVALID: no policy file: copy examples/policy.toml" in text


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "sign")
    monkeypatch.setenv("SMTP_TLS", "false")
    monkeypatch.setenv("HEALTH_PORT", "")  # empty means unset
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.discord_enabled and settings.slack_enabled and not settings.slack_socket_mode
    assert settings.smtp_tls is False
    assert settings.health_port is None
    assert "discord-secret" not in repr(settings)
    assert "DISCORD_TOKEN = set (hidden)" in redacted_summary(settings)
    assert "SLACK_APP_TOKEN = not set" in redacted_summary(settings)


def test_slack_needs_an_app_token_or_a_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    assert not Settings(_env_file=None).slack_enabled  # type: ignore[call-arg]


def test_bad_settings_list_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_HTTP_PORT", "web")
    monkeypatch.setenv("LICENCE_API_URL", "https://vendor.example/api/licences")
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    names = [line.split(":", 1)[0] for line in caught.value.problems]
    assert names == ["SLACK_HTTP_PORT", "LICENCE_API_URL"]
    assert "must contain {key}" in str(caught.value)
