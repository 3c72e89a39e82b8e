"""`supportbot run` with Slack and/or Discord configured: adapters, dispatcher and sweep in one loop."""

from __future__ import annotations

import asyncio
import logging
import signal

from supportbot.settings import Settings

log = logging.getLogger(__name__)


async def run_platforms(settings: Settings) -> None:
    raise NotImplementedError  # wired once the adapters land (this commit's follow-up)


async def print_invite_url(settings: Settings, application_id: int | None) -> int:
    raise NotImplementedError


__all__ = ["asyncio", "signal", "log"]
