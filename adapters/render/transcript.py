"""Transcripts as files: a self-contained HTML page (no external assets) and Markdown, from Jinja2
templates. HTML autoescapes everything; Markdown escapes what a viewer would take as HTML or markup."""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.reporting.transcripts import Format, Transcript

# what could turn text into emphasis, code, links or tables (HTML is defused separately)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(text: object) -> str:
    """Text that a Markdown viewer shows as written: HTML defused, markup characters escaped."""
    plain = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", plain)


def md_quote(text: object) -> str:
    """A message body as a Markdown block quote, every line escaped."""
    return "\n".join(f"> {md_escape(line)}" if line else ">" for line in str(text).splitlines() or [""])


def size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def make_environment() -> Environment:
    env = Environment(loader=PackageLoader("adapters.render", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "j2.html"), default=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    env.filters["md_quote"] = md_quote
    env.filters["size"] = size
    return env


class JinjaTranscriptRenderer:
    """Implements bot.reporting.transcripts.TranscriptRenderer."""

    def __init__(self) -> None:
        self.env = make_environment()

    def render(self, transcript: Transcript, fmt: Format) -> str:
        template = self.env.get_template("transcript.html" if fmt == "html" else "transcript.md")
        return template.render(t=transcript)
