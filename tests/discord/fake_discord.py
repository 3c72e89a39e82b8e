"""A local fake of Discord (REST /api/v10 and the gateway websocket) for the real discord.py client."""

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

MESSAGE_CONTENT_LIMITED = 1 << 19  # the application flag of the Message Content intent (under 100 guilds)
BOT_ROLE_ID = 900000000000000009  # the role Discord makes for a bot invited with permissions


def as_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # exactly "application/json": discord.py parses nothing else (json_response adds a charset)
    response = web.Response(body=json.dumps(data).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


@dataclass
class Call:
    method: str
    path: str
    body: Any  # a JSON object, or a list (command sync)
    files: dict[str, bytes] = field(default_factory=dict)


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


class FakeDiscord:
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
        self.calls.append(Call(request.method, path, body, files))
        try:
            for failure in self.failures:
                if failure.method == request.method and re.fullmatch(failure.pattern, path):
                    self.failures.remove(failure)
                    return as_json(failure.body, failure.status, failure.headers)
            return await self.route(request.method, path, body, files, request.query)
        finally:
            await self._notify()

    def history(self, channel_id: int, query: Any) -> list[dict[str, Any]]:
        """GET /channels/{id}/messages: newest first, like Discord; `after` gives the oldest
        `limit` messages after that id, `before` the newest before it."""
        mine = sorted((m for m in self.messages.values() if int(m["channel_id"]) == channel_id),
                      key=lambda m: int(m["id"]))
        limit = min(int(query.get("limit") or 50), 100)
        if "after" in query:
            page = [m for m in mine if int(m["id"]) > int(query["after"])][:limit]
        else:
            before = int(query.get("before") or 2**63)
            page = [m for m in mine if int(m["id"]) < before][-limit:]
        return page[::-1]

    async def route(self, method: str, path: str, body: Any, files: dict[str, bytes],
                    query: Any = None) -> web.Response:
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["users", "@me"]:
                return as_json(p.BOT)
            case "GET", ["applications", "@me"]:
                return as_json({"id": str(p.APP_ID), "name": "SupportBot", "flags": self.application_flags})
            case "GET", ["guilds", gid] if int(gid) == p.GUILD_ID:
                guild = p.guild()
                guild["roles"].append({**guild["roles"][0], "id": str(BOT_ROLE_ID), "name": "SupportBot",
                                       "permissions": str(self.bot_role_permissions), "managed": True})
                return as_json(guild)
            case "GET", ["guilds", gid, "members", uid] if int(gid) == p.GUILD_ID and int(uid) == p.BOT_ID:
                return as_json({**p.member(p.BOT), "roles": [str(BOT_ROLE_ID)]})
            case "GET", ["channels", cid] if int(cid) == p.SUPPORT_ID and int(cid) not in self.channels:
                return as_json({**p.text_channel(p.SUPPORT_ID, "support"),
                                "permission_overwrites": self.support_overwrites})
            case "GET", ["oauth2", "applications", "@me"]:
                return as_json({"id": str(p.APP_ID), "name": "SupportBot", "icon": None, "description": "",
                                "bot_public": False, "bot_require_code_grant": False, "verify_key": "00",
                                "flags": 0, "owner": p.user(1, "Owner"), "team": None})
            case "PUT", ["applications", _, "guilds", _, "commands"]:
                return as_json([{**c, "id": str(p.snowflake()), "application_id": str(p.APP_ID), "version": "1",
                                 "guild_id": str(p.GUILD_ID), "default_member_permissions": None}
                                for c in body])
            case "POST", ["interactions", iid, _, "callback"]:
                return as_json({"interaction": {"id": iid, "type": 2}})
            case "POST", ["webhooks", _, _]:
                return as_json(self._store(p.snowflake(), p.SUPPORT_ID, p.BOT, body, files))
            case "PATCH", ["webhooks", _, _, "messages", _]:
                return as_json(self._store(p.snowflake(), p.SUPPORT_ID, p.BOT, body, files))
            case "POST", ["channels", cid, "threads"]:
                data = p.thread(p.snowflake(), int(cid), body["name"], private=body.get("type") == 12)
                data["thread_metadata"]["invitable"] = body.get("invitable", True)
                self.channels[int(data["id"])] = data
                self.thread_members[int(data["id"])] = {p.BOT_ID}
                await self.dispatch("THREAD_CREATE", {**data, "newly_created": True})
                return as_json(data, 201)
            case "PUT", ["channels", tid, "thread-members", uid]:
                self.thread_members.setdefault(int(tid), set()).add(int(uid))
                return web.Response(status=204)
            case "GET", ["channels", cid]:
                if int(cid) in self.channels:
                    return as_json(self.channels[int(cid)])
            case "PATCH", ["channels", cid] if int(cid) in self.channels:
                meta = self.channels[int(cid)]["thread_metadata"]
                meta.update({k: v for k, v in body.items() if k in ("archived", "locked")})
                await self.dispatch("THREAD_UPDATE", self.channels[int(cid)])
                return as_json(self.channels[int(cid)])
            case "POST", ["channels", cid, "messages"]:
                earlier = self.nonces.get((int(cid), body.get("nonce"))) if body.get("enforce_nonce") else None
                if earlier is not None and earlier in self.messages:  # a retry of a post Discord already made
                    return as_json(self.messages[earlier])
                data = self._store(p.snowflake(), int(cid), p.BOT, body, files)
                if body.get("nonce"):
                    self.nonces[(int(cid), body["nonce"])] = int(data["id"])
                return as_json(data)
            case "GET", ["channels", cid, "messages"]:
                return as_json(self.history(int(cid), query))
            case "PATCH", ["channels", cid, "messages", mid] if int(mid) in self.messages:
                self.messages[int(mid)].update({k: v for k, v in body.items() if k == "content"})
                return as_json(self.messages[int(mid)])
            case "DELETE", ["channels", cid, "messages", mid] if int(mid) in self.messages:
                del self.messages[int(mid)]
                await self.dispatch("MESSAGE_DELETE", {"id": mid, "channel_id": cid, "guild_id": str(p.GUILD_ID)})
                return web.Response(status=204)
            case "POST", ["users", "@me", "channels"]:
                return as_json({"id": str(body["recipient_id"]) + "1", "type": 1,
                                "recipients": [self.users.get(int(body["recipient_id"]), p.user(1, "x"))]})
            case "GET", ["users", uid]:
                if int(uid) in self.users:
                    return as_json(self.users[int(uid)])
        return as_json({"message": "Unknown", "code": 10003}, 404)

    def _store(self, mid: int, cid: int, author: dict[str, Any], body: dict[str, Any],
               files: dict[str, bytes]) -> dict[str, Any]:
        attachments = [{"id": str(p.snowflake()), "filename": name, "size": len(data), "url": f"{self.url}/x/{name}",
                        "proxy_url": f"{self.url}/x/{name}"} for name, data in files.items()]
        data = p.message(mid, cid, author, body.get("content") or "", attachments,
                         components=body.get("components") or [], flags=body.get("flags") or 0)
        self.messages[mid] = data
        return data

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
