"""Cross-process wake-ups on PostgreSQL: LISTEN for the NOTIFY an outbox insert sends at commit.

Within one process the unit of work's commit hook wakes the dispatcher; this carries the same
signal to every other process sharing the database, so a message taken by one process is
delivered at once by the process that serves its platform, not at its next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.outbox_repository import OUTBOX_CHANNEL

log = logging.getLogger(__name__)


async def listen_for_outbox(engine: AsyncEngine, wake: Callable[[], None]) -> Callable[[], Awaitable[None]] | None:
    """Call `wake` whenever another process adds outbox rows. Returns an async closer, or None
    on a database without LISTEN (SQLite: one process, the commit hook is enough)."""
    if engine.dialect.name != "postgresql":
        return None
    connection = await engine.connect()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # the asyncpg connection

    def on_notify(*_: object) -> None:
        wake()

    await driver.add_listener(OUTBOX_CHANNEL, on_notify)

    async def close() -> None:
        try:
            await driver.remove_listener(OUTBOX_CHANNEL, on_notify)
        except Exception:  # the connection may already be gone; closing is what matters
            log.debug("removing the outbox listener failed", exc_info=True)
        await connection.close()

    return close
