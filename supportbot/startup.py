"""Starting `supportbot run` so that it always ends in a sentence: a refusal (rejected token, busy
port, no products) stops it; an outage (no network) is waited out with backoff, one log line per
attempt; and a stop signal at any moment ends the wait."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

from adapters.connect_errors import CredentialsRejected, Unreachable
from bot.policy import Policy

log = logging.getLogger("supportbot.startup")
T = TypeVar("T")
FIRST_DELAY, MAX_DELAY = 1.0, 60.0


class StartupRefused(Exception):
    """The bot cannot start as configured: str() is one sentence for the operator."""


async def keep_trying(what: str, attempt: Callable[[], Awaitable[T]],
                      first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY) -> T:
    """attempt() until it succeeds; Unreachable is retried with doubling delays, one log line
    each; CredentialsRejected becomes StartupRefused. Cancel the caller to give up."""
    delay, number = first_delay, 1
    while True:
        try:
            return await attempt()
        except CredentialsRejected as exc:
            raise StartupRefused(str(exc)) from None
        except Unreachable as exc:
            log.warning("cannot reach %s (%s): attempt %d failed, retrying in %.0f s", what, exc, number, delay)
        await asyncio.sleep(delay)
        delay, number = min(delay * 2, max_delay), number + 1


async def unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event) -> tuple[bool, T | None]:
    """(True, result) when `work` finishes first; (False, None) when `stop` is set first, the work
    then cancelled and awaited. An exception of the work is raised."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, waiter):
            if not pending.done():
                pending.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)
    if task.cancelled():
        return False, None
    return True, task.result()


def _awaiting(coro: Any) -> str:
    """The chain of coroutines a task is suspended in, outermost first (a task's get_stack
    gives only the outermost frame of a suspended coroutine)."""
    steps = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            steps.append(f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return " -> ".join(steps) or "not started"


def log_task_stacks() -> None:
    """What every task of the process awaits, into the log: `kill -USR1 <pid>` on a bot that
    looks stuck says where, without stopping it."""
    lines = sorted(f"  {task.get_name()}: {_awaiting(task.get_coro())}" for task in asyncio.all_tasks())
    log.warning("SIGUSR1: %d tasks\n%s", len(lines), "\n".join(lines))


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, log_task_stacks)
    try:
        yield
    finally:
        with contextlib.suppress(NotImplementedError, AttributeError):
            loop.remove_signal_handler(signal.SIGUSR1)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


async def bind(setting: str, port: int, start: Callable[[], Awaitable[T]]) -> T:
    """Start a server on `port`; a port in use is a sentence naming the setting, not an OSError."""
    try:
        return await start()
    except OSError as exc:
        why = "is already in use by another program" if exc.errno in (98, 48, 10048) else \
            f"cannot be opened ({exc.strerror or exc})"
        raise StartupRefused(f"{setting}={port}: the port {why}; stop that program or choose another port") \
            from None


def policy_refusal(path: Path | None, policy: Policy) -> str | None:
    """Why a bot serving real customers must not start on this policy, if it must not."""
    if path is None:
        return ("no policy file: copy examples/policy.toml to supportbot.toml and edit it, "
                "or set SUPPORTBOT_CONFIG to your policy file")
    if not policy.products:
        return (f"the policy {path} lists no product ([[product]] with sku, name, staff_channel): "
                "customers could not open any ticket")
    return None


class OneLineRetries(logging.Filter):
    """The platform libraries log each reconnection attempt with a full traceback: keep one line,
    and drop their warnings about choices made on purpose."""

    PREFIXES = ("Failed to connect", "Attempting a reconnect")

    # warnings about things this bot does on purpose (passes a client; uses no voice)
    HARMLESS = ("As you gave `client` as well, `token` will be unused", "PyNaCl is not installed",
                "davey is not installed")

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith(self.HARMLESS):
            return False
        if record.exc_info and str(record.msg).startswith(self.PREFIXES):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage().splitlines()[0]} ({type(exc).__name__})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def quiet_reconnect_tracebacks() -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OneLineRetries) for f in handler.filters):
            handler.addFilter(OneLineRetries())

