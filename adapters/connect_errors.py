"""How a platform connection attempt failed, as the composition root needs to know it: a refusal
that retrying cannot fix (a rejected token) or an outage worth waiting out (no network)."""

from __future__ import annotations


class CredentialsRejected(Exception):
    """Permanent: str() is one sentence naming the setting to fix."""


class Unreachable(Exception):
    """Temporary: str() is the short reason, e.g. "connection refused"."""


def short_reason(exc: BaseException) -> str:
    """One line for a network error, without the traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
