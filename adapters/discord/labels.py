"""UI labels of the Discord adapter (adapters/discord/locales/*.toml) and the core's sentences."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from bot.texts import DEFAULT_LOCALE, Text, language_of, render

LOCALES_DIR = Path(__file__).parent / "locales"


@cache
def _labels(lang: str) -> dict[str, str]:
    path = LOCALES_DIR / f"{lang}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def label(key: str, locale: str | None = DEFAULT_LOCALE, **params: Any) -> str:
    """A UI label in the reader's language (English when we have none for it)."""
    template = _labels(language_of(locale)).get(key) or _labels(DEFAULT_LOCALE)[key]
    return template.format(**params) if params else template


def translation(key: str, locale: str) -> str | None:
    """The label in exactly this language, or None (for Discord's command localisations)."""
    return _labels(locale).get(key)


def say(text: Text, locale: str | None) -> str:
    """A sentence of the core, rendered for the reader."""
    return render(text, locale)
