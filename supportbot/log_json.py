"""LOG_FORMAT=json: one JSON object per line for log shippers, with the ticket and platform a line
is about when they are known (from the record's `extra`, the delivery in hand, or the logger)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# set around work on one ticket / platform (see supportbot/metered.py's delivery wrapper)
current_ticket: ContextVar[int | None] = ContextVar("log_ticket", default=None)
current_platform: ContextVar[str | None] = ContextVar("log_platform", default=None)

# a logger's platform when nothing more precise is known
_LOGGER_PLATFORMS = (("adapters.slack", "slack"), ("slack_bolt", "slack"), ("slack_sdk", "slack"),
                     ("adapters.discord", "discord"), ("discord", "discord"), ("adapters.email", "email"),
                     ("aiosmtplib", "email"))


@contextmanager
def log_context(ticket: int | None = None, platform: str | None = None) -> Iterator[None]:
    """Lines logged inside carry this ticket and platform."""
    tokens = (current_ticket.set(ticket), current_platform.set(platform))
    try:
        yield
    finally:
        current_ticket.reset(tokens[0])
        current_platform.reset(tokens[1])


def _platform_of_logger(name: str) -> str | None:
    for prefix, platform in _LOGGER_PLATFORMS:
        if name == prefix or name.startswith(prefix + "."):
            return platform
    return None


class JsonFormatter(logging.Formatter):
    """Fields: timestamp (UTC, ISO 8601), level, logger, message, and when known ticket, platform,
    exception. Runs after the handler's MaskSecrets filter, so the message is already masked."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ticket = getattr(record, "ticket", None) or current_ticket.get()
        platform = getattr(record, "platform", None) or current_platform.get() or _platform_of_logger(record.name)
        if ticket is not None:
            entry["ticket"] = ticket
        if platform is not None:
            entry["platform"] = platform
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)
