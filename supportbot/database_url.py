"""DATABASE_URL as people paste it, turned into the async driver URL the store needs, and
connection failures told in one sentence (host, database, the server's reason)."""

from __future__ import annotations

import socket

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

FORMS = ("postgresql+asyncpg://user:password@host:5432/database or "
         "sqlite+aiosqlite:///path/to/file.db")
# what hosting providers and libpq write, and what the async drivers need instead
_DRIVERS = {"postgres": "postgresql+asyncpg", "postgresql": "postgresql+asyncpg",
            "postgresql+psycopg": "postgresql+asyncpg", "postgresql+psycopg2": "postgresql+asyncpg",
            "postgresql+asyncpg": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite",
            "sqlite+aiosqlite": "sqlite+aiosqlite"}


def normalise_database_url(text: str) -> str:
    """The URL with the asyncpg or aiosqlite driver; ValueError names the forms to use."""
    text = text.strip()
    scheme, sep, _rest = text.partition("://")
    driver = _DRIVERS.get(scheme.lower()) if sep else None
    if driver is None:
        raise ValueError(f"not a database URL this bot can use: write {FORMS}")
    url_text = driver + text[len(scheme):]
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise ValueError(f"cannot read this URL: write {FORMS}") from None
    if driver.startswith("postgresql"):
        if not url.host or not url.database:
            raise ValueError(f"a PostgreSQL URL needs a host and a database name: {FORMS}")
        query = dict(url.query)
        if "sslmode" in query:  # libpq's name; asyncpg calls it ssl
            query["ssl"] = query.pop("sslmode")
            url = url.set(query=query)
    elif not url.database:
        raise ValueError(f"a SQLite URL needs a file path: {FORMS}")
    return url.render_as_string(hide_password=False)


def where(url_text: str) -> str:
    """'database D on host H:P' (no password), or the SQLite file."""
    url = make_url(url_text)
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    return f"database {url.database} on {url.host}:{url.port or 5432} (user {url.username or '?'})"


def connect_failure(url_text: str, exc: BaseException) -> str:
    """One sentence for an engine that could not connect: where, and the server's reason."""
    reason = _reason(exc)
    return f"cannot use {where(url_text)}: {reason}"


def _reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:  # SQLAlchemy wraps the driver's error; the innermost says most
        inner = getattr(seen, "orig", None) or seen.__cause__
        if inner is None or inner is seen:
            break
        seen = inner
    root = seen or exc
    if isinstance(root, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(root, ConnectionRefusedError) or "Connect call failed" in str(root):
        return "the server refuses connections (is PostgreSQL running and listening there?)"
    if isinstance(root, TimeoutError):
        return "the server does not answer (timed out)"
    text = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    return text


class DatabaseUnavailable(Exception):
    """The store could not be opened or brought to the current schema: str() is one sentence."""
