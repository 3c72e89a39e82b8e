"""On a fresh PostgreSQL every entry point brings the schema up to date itself; a missing
database or role is one sentence naming host, database and the server's reason."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from supportbot.cli import main
from supportbot.settings import Settings
from tests.conftest import POSTGRES_URL_ENV, _create_scratch_database, _drop_database

pytestmark = pytest.mark.postgres
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def server() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    return url


@pytest.fixture
async def fresh(server: str) -> AsyncIterator[str]:
    """An empty database, never migrated, as `postgres://` the way a host hands it out."""
    url, name = await _create_scratch_database(server)
    yield make_url(url).set(drivername="postgres").render_as_string(hide_password=False)
    await _drop_database(server, name)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(EXAMPLES / "policy.toml"))
    return tmp_path


async def test_licence_import_migrates_a_fresh_database(env: Path, fresh: str, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh)
    assert await asyncio.to_thread(main, ["licences", "import", str(EXAMPLES / "licences.csv")]) == 0
    assert "imported" in capsys.readouterr().out


async def test_the_console_migrates_a_fresh_database(env: Path, fresh: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = await asyncio.to_thread(main, ["console", "--script", str(EXAMPLES / "demo.txt"), "--database", fresh])
    assert code == 0
    assert "Ticket #1 is open" in capsys.readouterr().out


async def test_run_migrates_a_fresh_database(env: Path, fresh: str) -> None:
    from supportbot.bootstrap import open_store
    from supportbot.settings import load_settings

    store = await open_store(load_settings(_env_file=None, database_url=fresh).database_url)
    try:
        async with store.uow() as uow:
            assert await uow.outbox.next_due_at() is None  # the tables exist
    finally:
        await store.engine.dispose()


@pytest.mark.parametrize("what", ["database", "role"])
async def test_a_missing_database_or_role_is_one_sentence(env: Path, server: str, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], what: str) -> None:
    url = make_url(server)
    url = url.set(database="no_such_db_zq") if what == "database" else url.set(username="no_such_role_zq")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    assert await asyncio.to_thread(main, ["db", "upgrade"]) == 1
    err = capsys.readouterr().err.strip()
    where = f"database {url.database} on {url.host}:{url.port or 5432} (user {url.username})"
    reason = 'database "no_such_db_zq" does not exist' if what == "database" else 'role "no_such_role_zq" does not exist'
    assert err == f"supportbot: cannot use {where}: {reason}"
