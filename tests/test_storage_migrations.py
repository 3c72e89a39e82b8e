"""Migrations match the models, and the sweeps use the partial deadline indexes."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import UnitOfWorkFactory
from storage.engine import statement_engines
from storage.migrate import alembic_config, upgrade
from storage.models import metadata
from tests.test_storage import T0, add_ticket


def _diff(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_migrated_schema_matches_the_models(db_url: str, db_engine: AsyncEngine) -> None:
    await upgrade(db_url)  # a second upgrade is a no-op
    async with db_engine.connect() as connection:
        # one head, and the database is at it
        assert await connection.run_sync(_revision) == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert await connection.run_sync(_diff) == []


async def test_downgrade_then_upgrade(db_url: str, db_engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        config = alembic_config(db_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    async with db_engine.begin() as connection:
        await connection.run_sync(downgrade)
    async with db_engine.connect() as connection:
        assert await connection.run_sync(_revision) is None
        assert len(await connection.run_sync(_diff)) > 0
    await upgrade(db_url)
    async with db_engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_authored_refs_become_unique_and_a_later_copy_keeps_its_text(
        db_url: str, db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory) -> None:
    def to(revision: str) -> Any:
        def move(connection: Connection) -> None:
            config = alembic_config(db_url)
            config.attributes["connection"] = connection
            (command.downgrade if revision < "0008" else command.upgrade)(config, revision)
        return move

    ticket = (await add_ticket(uow_factory)).id  # at head, then back to before the indexes
    async with db_engine.begin() as connection:
        await connection.run_sync(to("0007"))
        for kind, body, customer_ref, staff_ref in (("customer", "first", "m1", None), ("customer", "copy", "m1", None),
                                                    ("staff", "answer", "d1", "s1"), ("note", "copy", None, "s1")):
            await connection.execute(text(
                "INSERT INTO messages (ticket_id, kind, author_id, author_name, body, created_at, attachments,"
                " customer_ref, staff_ref, deleted) VALUES (:ticket, :kind, 'a', 'A', :body, :t, '[]', :c, :s, false)"),
                {"ticket": ticket, "kind": kind, "body": body, "t": T0, "c": customer_ref, "s": staff_ref})
    await upgrade(db_url)
    async with db_engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT kind, body, customer_ref, staff_ref FROM messages ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [("customer", "first", "m1", None), ("customer", "copy", None, None),
                                        ("staff", "answer", "d1", "s1"), ("note", "copy", None, None)]


async def _plan_of(db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory, sweep: Any) -> str:
    """The query plan of the SELECT that `sweep(uow)` runs, as the database would execute it."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    for listened in statement_engines(db_engine):
        event.listen(listened, "before_cursor_execute", capture)
    try:
        async with uow_factory() as uow:
            await sweep(uow)
    finally:
        for listened in statement_engines(db_engine):
            event.remove(listened, "before_cursor_execute", capture)
    [(statement, parameters)] = captured
    async with db_engine.connect() as connection:
        if db_engine.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(r[-1]) for r in rows)
        # Tiny tables favour a seq scan: forbid it to learn whether the index *can* serve.
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(r[0]) for r in rows)


async def test_sweeps_use_the_partial_deadline_indexes(
    db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory
) -> None:
    for column in ("sla_warn_at", "sla_due_at", "nudge_at", "autoclose_warn_at", "autoclose_at", "licence_check_at"):

        async def sweep(uow: Any, column: str = column) -> None:
            await uow.tickets.claim_due(column, T0, 10)

        plan = await _plan_of(db_engine, uow_factory, sweep)
        assert f"ix_tickets_open_{column}" in plan, plan

