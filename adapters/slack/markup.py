"""Slack's markup in what staff write, turned into plain text for the customer.

Slack sends message text with `&`, `<`, `>` escaped and links, mentions and dates as
`<…>` tokens: relayed as is, a customer would read `&lt;` and `<https://…|docs>`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

TOKEN = re.compile(r"<([^<>]*)>")
SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(inner: str, names: dict[str, str]) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return "@" + (label or names.get(target[1:], target[1:]))
    if target.startswith("#"):  # <#C123|support-seo>
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S1|@leads>, <!date^…|fallback>
        return label or SPECIAL.get(target[1:], "")
    shown = target.removeprefix("mailto:")
    return f"{label} ({target})" if label and label != shown else shown


async def to_plain(text: str, name_of: Callable[[str], Awaitable[str]]) -> str:
    """`text` as the customer should read it; user mentions become @names (name_of(user_id))."""
    ids = {m.group(1)[1:].partition("|")[0] for m in TOKEN.finditer(text) if m.group(1).startswith("@")}
    names = {user_id: await name_of(user_id) for user_id in ids}
    return unescape(TOKEN.sub(lambda m: _token(m.group(1), names), text))
