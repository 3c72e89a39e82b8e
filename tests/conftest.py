"""Shared fixtures. Storage: `db_url` is a migrated, empty database, once on SQLite
(a temporary file) and once on PostgreSQL (a scratch database created on the server
named by TEST_DATABASE_URL; skipped when it is unset)."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.ports import UnitOfWorkFactory
from storage.engine import make_connection_factory, make_engine
from storage.migrate import upgrade
from storage.uow import sql_uow_factory
from tests.e2e_world import world  # noqa: F401 (the end-to-end fixture, for every test module)
from tests.relay_trace import traced  # noqa: F401 (the traced relay, for the test_relay_* modules)

POSTGRES_URL_ENV = "TEST_DATABASE_URL"


async def _create_scratch_database(server_url: str) -> tuple[str, str]:
    """A fresh database beside the one in `server_url`, so concurrent test runs
    never share tables. Returns (its url, its name)."""
    name = f"supportbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        await admin.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, name


async def _drop_database(server_url: str, name: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture(autouse=True)
def _root_logging_put_back() -> Iterator[None]:
    """A test that runs configure_logging leaves a root handler on the stream stderr was then:
    pytest's capture of that test, closed after it. A record logged later (a server task ending
    late) then printed "--- Logging error ---" into whichever test ran, and broke its assertions
    on stderr. Each test gets the root logger back as it found it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'supportbot.db'}"
        await upgrade(url)
        yield url
        return
    async with scratch_postgres() as url:
        yield url


@pytest.fixture
async def postgres_db_url() -> AsyncIterator[str]:
    """A migrated scratch database on PostgreSQL only: for what only PostgreSQL does (several
    processes sharing the work)."""
    async with scratch_postgres() as url:
        yield url


@contextlib.asynccontextmanager
async def scratch_postgres() -> AsyncIterator[str]:
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    url, name = await _create_scratch_database(server_url)
    try:
        await upgrade(url)
        yield url
    finally:
        await _drop_database(server_url, name)


@pytest.fixture
async def db_engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow_factory(db_engine: AsyncEngine) -> UnitOfWorkFactory:
    return sql_uow_factory(make_connection_factory(db_engine))
