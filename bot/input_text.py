"""Text from outside, made safe to store: the core's entrance for every string a person typed.

PostgreSQL's text type rejects NUL, and no UTF-8 encoding exists for a lone surrogate (which
a platform's JSON can carry as an escaped \\ud83d without its pair); SQLite would store both.
Removing them here, before any use case runs, makes both databases keep the same text and no
message or form fail on one of them only.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import Any

from bot.domain import Attachment

REJECTED = re.compile("[\x00\ud800-\udfff]")


def clean(text: str) -> str:
    return REJECTED.sub("", text)


def clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Attachment):
        return replace(value, filename=clean(value.filename), url=clean(value.url),
                       content_type=clean(value.content_type))
    if isinstance(value, tuple):
        return tuple(clean_value(v) for v in value)
    return value


class CleanInput:
    """Mixin for the core's frozen input dataclasses: every text field is cleaned on creation."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            cleaned = clean_value(value)
            if cleaned is not value and cleaned != value:
                object.__setattr__(self, f.name, cleaned)


def shorten(value: str, limit: int = 40) -> str:
    """A bad value as it may be echoed: one line, at most `limit` characters."""
    one_line = " ".join(value.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
