"""A local fake of Discord (REST /api/v10 and the gateway websocket) for the real discord.py client:
its server, gateway sessions and test controls; what each REST endpoint answers is in
tests/discord/fake_discord_routes.py."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import WSMsgType, web

from adapters.discord.invite import bot_permissions
from tests.discord import payloads as p
from tests.discord.fake_discord_routes import BOT_ROLE_ID, MESSAGE_CONTENT_LIMITED, DiscordRoutes, as_json

__all__ = ["BOT_ROLE_ID", "Call", "DiscordPyUrls", "FakeDiscord", "as_json"]

@dataclass
class Call:
    method: str
    path: str
    body: Any  # a JSON object, or a list (command sync)
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = 0.0  # the loop's time the request arrived (bench.e2e measures to it)


@dataclass
class Session:
    ws: web.WebSocketResponse | None
    valid: bool = True
    log: list[tuple[int, str]] = field(default_factory=list)  # (seq, frame) for a RESUME


@dataclass
class Failure:
    method: str
    pattern: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class FakeDiscord(DiscordRoutes):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.thread_members: dict[int, set[int]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.failures: list[Failure] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.sessions: dict[str, Session] = {}
        self.identified = 0  # new gateway sessions (IDENTIFY)
        self.resumed = 0  # successful RESUMEs
        self.refuse_gateway = False
        self.nonces: dict[tuple[int, str], int] = {}  # (channel, nonce) -> message id, for enforce_nonce
        # the application and the bot's place in the guild, as REST shows them (`supportbot doctor`)
        self.application_flags = MESSAGE_CONTENT_LIMITED
        self.bot_role_permissions = bot_permissions().value  # a role granted by the invite URL
        self.support_overwrites: list[dict[str, Any]] = []
        self.changed = asyncio.Condition()
        self.seq = 0
        self.identify_close_code: int | None = None  # e.g. 4014: the gateway refuses the IDENTIFY
        self.url = ""
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway)
        app.router.add_get("/files/{name}", self.file)
        app.router.add_route("*", "/api/v10/{path:.*}", self.rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    # --- test helpers ------------------------------------------------------------------

    def fail_next(self, method: str, pattern: str, status: int, body: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> None:
        self.failures.append(Failure(method, pattern, status, body or {"message": "fake", "code": 0}, headers or {}))

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        async with self.changed:
            return await asyncio.wait_for(self.changed.wait_for(predicate), within)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def find(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """An event for every session: sent to its live socket, and kept for a RESUME."""
        if event == "MESSAGE_CREATE":  # what the customer posts exists on Discord, as the bot's posts do
            self.messages[int(data["id"])] = data
        self.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self.seq, "d": data})
        for session in self.sessions.values():
            session.log.append((self.seq, frame))
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(frame)

    async def write(self, channel_id: int, author: dict[str, Any], content: str) -> dict[str, Any]:
        """A person's message in a channel: dispatched to whoever is connected, kept in history."""
        data = p.message(p.snowflake(), channel_id, author, content)
        await self.dispatch("MESSAGE_CREATE", data)
        return data

    async def drop_connections(self, invalidate: bool = False) -> None:
        """Close every gateway socket as a network drop would (resumable close code). With
        `invalidate`, the sessions are gone: a RESUME is answered with op 9 (d: false) and
        events meanwhile are never replayed."""
        if invalidate:
            for session in self.sessions.values():
                session.valid = False
        for ws in list(self.sockets):
            await ws.close(code=4000)

    async def interact(self, payload: dict[str, Any], within: float = 5.0) -> list[Call]:
        """Push an interaction; return its callback once answered (followups may come later)."""
        await self.dispatch("INTERACTION_CREATE", payload)
        iid = payload["id"]
        return await self.wait_for(lambda: self.find("POST", f"/interactions/{iid}/.*/callback") or None, within)

    def answers(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """What the customer saw for an interaction: callback data, followups, edits, in order."""
        token = payload["token"]
        seen = []
        for c in self.calls:
            if c.path.startswith(f"/interactions/{payload['id']}/"):
                seen.append(c.body.get("data") or {})
            elif f"/webhooks/{p.APP_ID}/{token}" in c.path:
                seen.append(c.body)
        return seen

    async def reply_text(self, payload: dict[str, Any], within: float = 5.0) -> str:
        """The last content shown for this interaction, once there is one."""
        def content() -> str | None:
            texts = [a.get("content") for a in self.answers(payload) if a.get("content")]
            return texts[-1] if texts else None
        result: str = await self.wait_for(content, within)
        return result

    # --- gateway -----------------------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_gateway:  # Discord unreachable for a while: the client backs off and retries
            return web.Response(status=503)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2 and self.identify_close_code is not None:
                await ws.close(code=self.identify_close_code)
                break
            elif frame["op"] == 2:
                await self._identify(ws)
            elif frame["op"] == 6:
                await self._resume(ws, frame["d"])
        self.sockets.remove(ws)
        return ws

    async def _identify(self, ws: web.WebSocketResponse) -> None:
        """A new session: READY and the guild; nothing from before it is replayed."""
        session_id = f"fake-session-{len(self.sessions) + 1}"
        self.sessions[session_id] = Session(ws)
        self.identified += 1
        for event, data in (("READY", {
            "v": 10, "user": p.BOT, "guilds": [{"id": str(p.GUILD_ID), "unavailable": True}],
            "session_id": session_id, "resume_gateway_url": self.url.replace("http", "ws") + "/gateway",
            "application": {"id": str(p.APP_ID), "flags": 0}, "private_channels": [], "relationships": [],
        }), ("GUILD_CREATE", p.guild())):
            self.seq += 1
            await ws.send_str(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        """A RESUME of a valid session replays every dispatch after its sequence, then RESUMED."""
        session = self.sessions.get(data.get("session_id") or "")
        if session is None or not session.valid:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return
        session.ws = ws
        self.resumed += 1
        for seq, frame in session.log:
            if seq > (data.get("seq") or 0):
                await ws.send_str(frame)
        self.seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": self.seq, "d": {}}))

    async def file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    # --- REST --------------------------------------------------------------------------

    async def rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type.startswith("multipart/"):
            form = await request.post()
            for name, value in form.items():
                if name == "payload_json":
                    body = json.loads(str(value))
                elif isinstance(value, web.FileField):
                    files[value.filename] = value.file.read()
        self.calls.append(Call(request.method, path, body, files, asyncio.get_running_loop().time()))
        try:
            for failure in self.failures:
                if failure.method == request.method and re.fullmatch(failure.pattern, path):
                    self.failures.remove(failure)
                    return as_json(failure.body, failure.status, failure.headers)
            return await self.route(request.method, path, body, files, request.query)
        finally:
            await self._notify()

    async def archive_idle(self, thread_id: int) -> None:
        """Discord archives a thread nobody wrote in for a while (and tells the bot)."""
        self.channels[thread_id]["thread_metadata"]["archived"] = True
        await self.dispatch("THREAD_UPDATE", self.channels[thread_id])

    def posts_in(self, channel_id: int) -> list[Call]:
        return self.find("POST", f"/channels/{channel_id}/messages")


class DiscordPyUrls:
    """discord.py's REST base and gateway URL are module globals (supportbot/platforms.py sets
    them from the settings): remembered when made, aimed at a fake, put back by restore()."""

    def __init__(self) -> None:
        self.saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY

    def aim(self, fake_url: str) -> None:
        discord.http.Route.BASE = f"{fake_url}/api/v10"  # type: ignore[misc]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake_url.replace("http", "ws") + "/gateway")

    def restore(self) -> None:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self.saved  # type: ignore[misc]
