"""Customer- and staff-facing sentences, kept in template files per language (bot/locales/*.toml).

The core speaks in `Text` values (a key and its parameters) so that an adapter can render them
in the reader's language at the last moment; outbox rows store them as plain dicts.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class Text:
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Text:
        return cls(data["key"], dict(data.get("params") or {}))


@cache
def _templates(locale: str) -> dict[str, str]:
    path = LOCALES_DIR / f"{locale}.toml"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def language_of(locale: str | None) -> str:
    """'fr', 'fr-FR' and 'fr_CA' are French; anything we have no templates for is English."""
    lang = (locale or DEFAULT_LOCALE).replace("_", "-").split("-")[0].lower()
    return lang if _templates(lang) else DEFAULT_LOCALE


def render(text: Text, locale: str | None = DEFAULT_LOCALE) -> str:
    templates = _templates(language_of(locale))
    template = templates.get(text.key) or _templates(DEFAULT_LOCALE).get(text.key)
    if template is None:
        raise KeyError(f"no template for text {text.key!r}")
    return template.format(**text.params).strip()
