"""Checks on what customers type into the ticket form."""

from __future__ import annotations

import re

from bot.commands import OpenTicket
from bot.errors import Refusal

MAGENTO_VERSION = re.compile(r"^2\.\d+\.\d+(-p\d+)?$")
# semantic version: 1.2.3, optionally -pre.1 and +build
MODULE_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

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
    for name, label, required, limit in FIELDS:
        if required and not values[name]:
            raise Refusal("field_missing", field=label)
        if len(values[name]) > limit:
            raise Refusal("field_too_long", field=label, limit=limit, length=len(values[name]))
    magento = (cmd.magento_version or "").strip().removeprefix("v")
    if not MAGENTO_VERSION.match(magento):
        raise Refusal("bad_magento_version", value=cmd.magento_version or "")
    module = (cmd.module_version or "").strip().removeprefix("v")
    if not MODULE_VERSION.match(module):
        raise Refusal("bad_module_version", value=cmd.module_version or "")
    values["magento_version"] = magento
    values["module_version"] = module
    return values
