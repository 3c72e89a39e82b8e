"""What the fake Discord's REST endpoints answer (tests/discord/fake_discord.py serves them): the
guild, channels, threads and messages as discord.py asks for and changes them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.discord import payloads as p

MESSAGE_CONTENT_LIMITED = 1 << 19  # the application flag of the Message Content intent (under 100 guilds)
BOT_ROLE_ID = 900000000000000009  # the role Discord makes for a bot invited with permissions


def as_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # exactly "application/json": discord.py parses nothing else (json_response adds a charset)
    response = web.Response(body=json.dumps(data).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


class DiscordRoutes:
    """The REST side of FakeDiscord: its state is FakeDiscord's, declared here."""

    channels: dict[int, dict[str, Any]]
    messages: dict[int, dict[str, Any]]
    thread_members: dict[int, set[int]]
    users: dict[int, dict[str, Any]]
    nonces: dict[tuple[int, str], int]
    application_flags: int
    bot_role_permissions: int
    support_overwrites: list[dict[str, Any]]
    url: str

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        raise NotImplementedError  # FakeDiscord's: a gateway event to every session

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
