"""Logging to stderr, with every configured secret masked in whatever is logged."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from supportbot.log_json import JsonFormatter
from supportbot.settings import Settings


class MaskSecrets(logging.Filter):
    """Replaces each known secret value with *** in log messages and their arguments."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            message = message.replace(secret, "***")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        return True


def secret_values(settings: Settings) -> list[str]:
    return [v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr) and v.get_secret_value()]


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskSecrets(secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # the platform libraries are chatty at INFO
    for noisy in ("slack_bolt", "slack_sdk", "discord", "aiosqlite", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
