"""Run the Alembic migrations shipped inside this package, programmatically."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from storage.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at storage/migrations (found from an installed package too)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation: a '%' in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


# any constant: processes starting together on one PostgreSQL migrate one after the other
_MIGRATION_LOCK = 0x5B0_7A11


async def upgrade(url: str) -> None:
    """`alembic upgrade head` on `url`; safe to call from inside a running event loop."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            await connection.run_sync(_upgrade_on, alembic_config(url))
    finally:
        await engine.dispose()


async def probe(url: str) -> None:
    """Connect once, so a wrong URL fails at start rather than at the first message."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    finally:
        await engine.dispose()


def upgrade_sync(url: str) -> None:
    """For the CLI (no event loop running)."""
    asyncio.run(upgrade(url))
