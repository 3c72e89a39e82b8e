"""Refusals: the core's way to say no with a sentence a person understands."""

from __future__ import annotations

from typing import Any

from bot.texts import Text


class Refusal(Exception):
    """A use case refused; nothing was changed. `text` says what is wrong and how to fix it."""

    def __init__(self, key: str, **params: Any) -> None:
        self.text = Text(key, params)
        super().__init__(key)
