"""GET /health: the database answers and the outbox lag is reported."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from bot.customers.accounts import link_account
from bot.tickets.opening import open_ticket
from supportbot.health import health_app
from tests.core_helpers import form, link, make_desk


async def get(app) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/health")
        return response.status, await response.json()


async def test_health_reports_ok_then_lagging_when_deliveries_wait():
    desk = make_desk()
    assert await get(health_app(desk)) == (200, {"status": "ok", "database": "ok", "outbox_lag_seconds": 0.0})
    await link_account(desk, link())
    await open_ticket(desk, form())  # outbox rows nobody delivers
    desk.clock.advance(timedelta(minutes=10))  # type: ignore[attr-defined]
    status, body = await get(health_app(desk))
    assert status == 200 and body["status"] == "lagging" and body["outbox_lag_seconds"] == 600.0


async def test_health_is_503_when_the_database_does_not_answer():
    desk = make_desk()

    def broken():  # type: ignore[no-untyped-def]
        raise ConnectionError("db down")

    desk = desk.__class__(broken, desk.clock, desk.policy, desk.licences)  # type: ignore[arg-type]
    assert await get(health_app(desk)) == (503, {"status": "down", "database": "unreachable"})
