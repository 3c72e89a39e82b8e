"""Deployment settings from the environment and `.env` (the policy itself lives in a TOML file)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from supportbot.database_url import normalise_database_url

_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_LOG_FORMATS = ("text", "json")


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return value


class Settings(BaseSettings):
    """Field `x` reads the variable `X` (case-insensitive); empty variables count as unset."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    database_url: str = "sqlite+aiosqlite:///./supportbot.db"
    # Path of the policy TOML; None: ./supportbot.toml if present (see supportbot/bootstrap.py).
    supportbot_config: Path | None = None

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # Socket Mode
    slack_signing_secret: SecretStr | None = None  # HTTP mode
    slack_api_url: str = "https://slack.com/api/"
    slack_http_port: int = 3000
    slack_staff_usergroup: str | None = None  # members are staff (else: staff channels' members)

    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_support_channel_id: int | None = None
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg"

    # URL templates of the vendor's licence API: `{key}` / `{email}` are replaced, URL-quoted.
    licence_api_url: str | None = None
    licence_api_email_url: str | None = None
    licence_api_token: SecretStr | None = None
    licence_api_timeout: float = 5.0

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: bool = True
    smtp_from: str | None = None

    access_encryption_key: SecretStr | None = None
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line (supportbot/log_json.py)
    health_port: int | None = None
    # seconds between deadline sweeps (reminders, auto-close, licence expiry)
    sweep_seconds: int = Field(default=30, ge=1, le=3600)

    @field_validator("licence_api_url")
    @classmethod
    def _has_key_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{key}" not in value:
            raise ValueError("must contain {key}, e.g. https://vendor.example/api/licences/{key}")
        return value

    @field_validator("licence_api_email_url")
    @classmethod
    def _has_email_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{email}" not in value:
            raise ValueError("must contain {email}, e.g. https://vendor.example/api/licences?email={email}")
        return value

    @field_validator("licence_api_timeout")
    @classmethod
    def _positive_timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("slack_http_port", "smtp_port", "health_port")
    @classmethod
    def _port_in_range(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 65535:
            raise ValueError(f"{value} is not a port number (1 to 65535)")
        return value

    @field_validator("discord_guild_id", "discord_support_channel_id")
    @classmethod
    def _discord_id(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError("must be a Discord id (Developer Mode, right-click, Copy ID)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        return _one_of(value.strip().upper(), _LOG_LEVELS)

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        return _one_of(value.strip().lower(), _LOG_FORMATS)

    @property
    def slack_enabled(self) -> bool:
        """A bot token plus either Socket Mode (app token) or HTTP mode (signing secret)."""
        return _is_set(self.slack_bot_token) and (
            _is_set(self.slack_app_token) or _is_set(self.slack_signing_secret)
        )

    @property
    def discord_enabled(self) -> bool:
        return _is_set(self.discord_token)

    @property
    def slack_socket_mode(self) -> bool:
        return _is_set(self.slack_app_token)

    @property
    def slack_mentioned(self) -> bool:
        """Any Slack credential or option set: the operator means to run Slack."""
        return any(_is_set(s) for s in (self.slack_bot_token, self.slack_app_token, self.slack_signing_secret)) \
            or bool(self.slack_staff_usergroup)

    @property
    def discord_mentioned(self) -> bool:
        return _is_set(self.discord_token) or self.discord_guild_id is not None \
            or self.discord_support_channel_id is not None

    def platform_problems(self) -> list[str]:
        """One sentence per platform that is set up only in part (empty: each is complete or absent)."""
        problems = []
        if self.slack_mentioned:
            missing = []
            if not _is_set(self.slack_bot_token):
                missing.append("SLACK_BOT_TOKEN (xoxb-…)")
            if not (_is_set(self.slack_app_token) or _is_set(self.slack_signing_secret)):
                missing.append("SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
            if missing:
                problems.append(f"Slack is only partly configured: set {' and '.join(missing)}")
        if self.discord_mentioned:
            missing = [name for name, value in (("DISCORD_TOKEN", _is_set(self.discord_token)),
                                                ("DISCORD_GUILD_ID", self.discord_guild_id is not None),
                                                ("DISCORD_SUPPORT_CHANNEL_ID",
                                                 self.discord_support_channel_id is not None)) if not value]
            if missing:
                problems.append(f"Discord is only partly configured: set {' and '.join(missing)}")
        return problems


class SettingsError(Exception):
    """Invalid environment: str() lists every problem, one `NAME: reason` per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with a readable error instead of a ValidationError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            name = ".".join(str(part) for part in error["loc"]).upper()
            reason = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
            problems.append(f"{name}: {reason}")
        raise SettingsError(problems) from None


def redacted_summary(settings: Settings) -> list[str]:
    """`NAME = value` lines for display; secrets only say whether they are set."""
    lines = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = "set (hidden)" if value.get_secret_value() else "not set"
        elif value is None:
            shown = "not set"
        elif name.endswith("_url"):
            shown = _without_password(str(value))
        else:
            shown = str(value)
        lines.append(f"{name.upper()} = {shown}")
    return lines


def _is_set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())


def _without_password(url: str) -> str:
    """Hide the password of a URL such as postgresql://user:secret@host/db."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
