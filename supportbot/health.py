"""GET /health on HEALTH_PORT, for a load balancer or a service monitor: the database answers,
and how late the outbox is (a growing lag means a platform keeps refusing deliveries)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.desk import Desk

log = logging.getLogger(__name__)
LAG_WARNING_S = 300


def health_app(desk: Desk) -> web.Application:
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

    app = web.Application()
    app.router.add_get("/health", health)
    return app


async def start_health(desk: Desk, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(health_app(desk))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health endpoint on port %s at /health", port)
    return runner
