"""The Discord client's life edges: login that tells a rejected token from an outage, and a close
that leaves no task behind (discord.py does not cancel its event and ready tasks itself)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import discord
from discord.utils import MISSING

from adapters.connect_errors import CredentialsRejected, Unreachable, short_reason

TOKEN_HINT = "copy the token again from the Developer Portal (Bot, Reset Token)"
# discord.py sets no timeout on its requests: a server that accepts and never answers would hold
# the start forever
LOGIN_TIMEOUT_S = 30.0


class OwnedTasks(discord.Client):
    """A client whose event-handler tasks are owned: close() cancels and awaits them."""

    _owned: set[asyncio.Task[Any]]

    def _schedule_event(self, coro: Any, event_name: str, *args: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        if not hasattr(self, "_owned"):
            self._owned = set()
        self._owned.add(task)
        task.add_done_callback(self._owned.discard)
        return task

    async def close(self) -> None:
        await super().close()
        state: Any = self._connection
        leftovers = [*getattr(self, "_owned", ()), state._ready_task]
        # app command invocations run as tasks the command tree names, not owned by anyone
        leftovers += [t for t in asyncio.all_tasks() if t.get_name() == "CommandTree-invoker"]
        mine = asyncio.current_task()
        leftovers = [t for t in leftovers if t is not None and t is not mine and not t.done()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)


async def login(client: discord.Client, token: str) -> None:
    """One login attempt: CredentialsRejected (say so, stop) or Unreachable (retry later)."""
    try:
        async with asyncio.timeout(LOGIN_TIMEOUT_S):
            await client.login(token)
    except discord.LoginFailure:
        await _reset_http(client)
        raise CredentialsRejected(f"Discord rejected DISCORD_TOKEN (401 Unauthorized): {TOKEN_HINT}") from None
    except discord.HTTPException as exc:
        await _reset_http(client)
        if exc.status >= 500 or exc.status == 429:
            raise Unreachable(f"Discord answered {exc.status}") from None
        if exc.status == 403:
            raise CredentialsRejected(
                f"Discord refused to register the commands on DISCORD_GUILD_ID ({exc.status} {exc.text}): "
                "invite the bot to that server with `supportbot discord invite-url`") from None
        raise CredentialsRejected(f"Discord refused the login ({exc.status} {exc.text})") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        await _reset_http(client)
        reason = f"no answer within {LOGIN_TIMEOUT_S:.0f} s" if isinstance(exc, TimeoutError) else short_reason(exc)
        raise Unreachable(reason) from None


async def _reset_http(client: discord.Client) -> None:
    """Close the half-made session so the next attempt starts clean (and nothing is left unclosed)."""
    with contextlib.suppress(Exception):
        await client.http.close()
    client.http.connector = MISSING  # closed with its session; static_login makes a new one


def gateway_failure(exc: BaseException) -> str:
    """One sentence for the reason the gateway connection ended for good."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ("Discord refused the gateway connection: turn on the Message Content intent "
                "(Developer Portal, Bot, Privileged Gateway Intents)")
    if isinstance(exc, discord.LoginFailure) or (isinstance(exc, discord.ConnectionClosed) and exc.code == 4004):
        return f"Discord rejected DISCORD_TOKEN on the gateway: {TOKEN_HINT}"
    if isinstance(exc, discord.ConnectionClosed):
        return f"Discord closed the gateway connection (code {exc.code}{': ' + exc.reason if exc.reason else ''})"
    return f"the Discord gateway connection ended: {short_reason(exc)}"


async def login_only(client: discord.Client, token: str) -> int:
    """Log in (no gateway) and return the application id, classified like login()."""
    await login(client, token)
    return client.application_id or (await client.application_info()).id
