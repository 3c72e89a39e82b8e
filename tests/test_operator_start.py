"""An operator's first settings: a half-set platform, a pasted DATABASE_URL, an impossible port,
a policy with no product. Each ends in a sentence and a non-zero status, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.settings import Settings, SettingsError, load_settings
from tests.process_helpers import closed_port


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env, no supportbot.toml here
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    return tmp_path


@pytest.mark.parametrize(("settings", "sentence"), [
    ({"SLACK_BOT_TOKEN": "xoxb-1"},
     "Slack is only partly configured: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "Slack is only partly configured: set SLACK_BOT_TOKEN (xoxb-…)"),
    ({"DISCORD_TOKEN": "t"},
     "Discord is only partly configured: set DISCORD_GUILD_ID and DISCORD_SUPPORT_CHANNEL_ID"),
    ({"DISCORD_GUILD_ID": "123456789012345678"},
     "Discord is only partly configured: set DISCORD_TOKEN and DISCORD_SUPPORT_CHANNEL_ID"),
])
def test_a_half_set_platform_is_refused_not_replaced_by_the_console(
        env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        settings: dict[str, str], sentence: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    out = capsys.readouterr()
    assert sentence in out.err and "console" not in out.out
    assert main(["check-config"]) == 1
    assert f"INVALID: {sentence}" in capsys.readouterr().out


def test_with_no_platform_setting_at_all_run_is_the_console(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 0  # stdin is closed under pytest: the console reads the end at once
    assert "starting the local console" in capsys.readouterr().out
    assert (env / "supportbot-console.db").exists() and not (env / "bot.db").exists()


@pytest.mark.parametrize(("pasted", "used"), [
    ("postgres://u:p@db.example.com/prod", "postgresql+asyncpg://u:p@db.example.com/prod"),
    ("postgresql://u:p@db.example.com:6543/prod?sslmode=require",
     "postgresql+asyncpg://u:p@db.example.com:6543/prod?ssl=require"),
    ("postgresql+psycopg2://u@db/prod", "postgresql+asyncpg://u@db/prod"),
    ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    (" sqlite+aiosqlite:////var/lib/x.db ", "sqlite+aiosqlite:////var/lib/x.db"),
])
def test_database_urls_as_people_paste_them(pasted: str, used: str) -> None:
    assert load_settings(_env_file=None, database_url=pasted).database_url == used


@pytest.mark.parametrize("bad", ["not a url", "mysql://u@h/db", "postgresql://", "sqlite://"])
def test_an_unusable_database_url_names_the_forms_to_use(bad: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, database_url=bad)
    (problem,) = caught.value.problems
    assert problem.startswith("DATABASE_URL: ") and "postgresql+asyncpg://user:password@host:5432/database" in problem


def test_check_config_fails_on_a_bad_database_url(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    assert main(["check-config"]) == 2
    assert "DATABASE_URL: not a database URL" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["db", "upgrade"], ["licences", "import", "l.csv"], ["console", "--script", "s.txt"]])
def test_an_unreachable_database_server_is_one_sentence(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    port = closed_port()
    (env / "l.csv").write_text("key,email,product,expires_at\n")
    (env / "s.txt").write_text("clock +1h\n")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://support@127.0.0.1:{port}/desk")
    if command[0] == "console":
        command = [*command, "--database", f"postgres://support@127.0.0.1:{port}/desk"]
    assert main(command) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"supportbot: cannot use database desk on 127.0.0.1:{port} (user support): "
                           "the server refuses connections (is PostgreSQL running and listening there?)")


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("HEALTH_PORT", "99999", "HEALTH_PORT: 99999 is not a port number (1 to 65535)"),
    ("SLACK_HTTP_PORT", "0", "SLACK_HTTP_PORT: 0 is not a port number (1 to 65535)"),
    ("SMTP_PORT", "-1", "SMTP_PORT: -1 is not a port number (1 to 65535)"),
    ("DISCORD_GUILD_ID", "-5", "DISCORD_GUILD_ID: must be a Discord id"),
])
def test_settings_out_of_range_fail_check_config(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], name: str, value: str,
                                                 problem: str) -> None:
    monkeypatch.setenv(name, value)
    assert main(["check-config"]) == 2
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize("policy", [None, "[sla]\nresponse = \"4h\"\n"])
def test_platforms_without_products_refuse_to_start(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], policy: str | None) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    if policy is not None:
        (env / "supportbot.toml").write_text(policy)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    expected = "no policy file: copy examples/policy.toml" if policy is None else "lists no product"
    assert "supportbot: cannot start: " in err and expected in err and "Traceback" not in err
    assert main(["check-config"]) == 1
    assert expected in capsys.readouterr().out


def test_a_missing_policy_file_says_to_copy_the_example(env: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SUPPORTBOT_CONFIG", "supportbot.toml")  # as .env.example used to set it
    script = env / "s.txt"
    script.write_text("clock +1h\n")
    assert main(["console", "--script", str(script)]) == 2
    assert "SUPPORTBOT_CONFIG=supportbot.toml: no such file" in capsys.readouterr().err
