"""Checks on what customers type into the ticket form."""

from __future__ import annotations

import re

from bot.commands import OpenTicket
from bot.errors import Refusal
from bot.input_text import shorten

# ASCII digits only (re.ASCII): "2.４.７" or "١.٤.٢" are not versions composer would know
MAGENTO_VERSION = re.compile(r"^2\.\d+\.\d+(-p\d+)?$", re.ASCII)
# semantic version: 1.2.3, optionally -pre.1 and +build
MODULE_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", re.ASCII)
# fields shown on one line (the card's header, the /tickets list, the thread's name)
SINGLE_LINE = ("subject",)

# (field, label shown to the customer, required, max length)
FIELDS = (
    ("subject", "subject", True, 100),
    ("description", "description", True, 4000),
    ("steps", "steps to reproduce", True, 4000),
    ("changes", "recent changes", True, 2000),
    ("errors", "error messages", False, 4000),
)


def clean_form(cmd: OpenTicket) -> dict[str, str]:
    """The form's fields, trimmed; raises Refusal naming the first field that is wrong."""
    values = {name: (getattr(cmd, name) or "").strip() for name, *_ in FIELDS}
    for name in SINGLE_LINE:  # a line break (or tab, or other control) would start a forged line
        values[name] = " ".join("".join(ch if ch.isprintable() else " " for ch in values[name]).split())
    for name, label, required, limit in FIELDS:
        if required and not values[name]:
            raise Refusal("field_missing", field=label)
        if len(values[name]) > limit:
            raise Refusal("field_too_long", field=label, limit=limit, length=len(values[name]))
    magento = (cmd.magento_version or "").strip().removeprefix("v")
    if not MAGENTO_VERSION.fullmatch(magento):
        raise Refusal("bad_magento_version", value=shorten(cmd.magento_version or ""))
    module = (cmd.module_version or "").strip().removeprefix("v")
    if not MODULE_VERSION.fullmatch(module):
        raise Refusal("bad_module_version", value=shorten(cmd.module_version or ""))
    values["magento_version"] = magento
    values["module_version"] = module
    return values
