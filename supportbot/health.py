"""GET /health on HEALTH_PORT, for a load balancer or a service monitor: the database answers,
and how late the outbox is (a growing lag means a platform keeps refusing deliveries).
GET /metrics on the same port: the Prometheus series of supportbot/metrics.py."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.desk import Desk
from supportbot.metrics import CONTENT_TYPE

log = logging.getLogger(__name__)
LAG_WARNING_S = 300


def health_app(desk: Desk, metrics: Callable[[], Awaitable[bytes]] | None = None) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        try:
            async with desk.uow() as uow:
                due = await uow.outbox.next_due_at()
        except Exception as exc:
            log.warning("health check: the database does not answer (%s)", type(exc).__name__)
            return web.json_response({"status": "down", "database": "unreachable"}, status=503)
        lag = max((desk.clock.now() - due).total_seconds(), 0.0) if due else 0.0
        status = "ok" if lag < LAG_WARNING_S else "lagging"
        return web.json_response({"status": status, "database": "ok", "outbox_lag_seconds": round(lag, 1)})

    async def exposition(_: web.Request) -> web.Response:
        assert metrics is not None
        try:
            body = await metrics()
        except Exception as exc:
            log.warning("metrics: the database does not answer (%s)", type(exc).__name__)
            return web.Response(status=503, text="the database does not answer\n")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/health", health)
    if metrics is not None:
        app.router.add_get("/metrics", exposition)
    return app


async def start_health(desk: Desk, port: int, host: str = "0.0.0.0",
                       metrics: Callable[[], Awaitable[bytes]] | None = None) -> web.AppRunner:
    runner = web.AppRunner(health_app(desk, metrics))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health endpoint on port %s at /health%s", port, " and /metrics" if metrics else "")
    return runner
