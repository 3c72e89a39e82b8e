"""A local fake of the Slack Web API (aiohttp on 127.0.0.1) that records every call.

Enough of Slack for the real slack_sdk AsyncWebClient and slack-bolt: auth.test, channels,
members, users, messages, reactions, the three-step file upload, response_url answers,
private file downloads, and a Socket Mode websocket.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-token-1234567890"
APP_TOKEN = "xapp-test-app-token"
BOT_USER, BOT_ID = "U0000BOT", "B0BOT"
# what an app installed from adapters/slack/manifest.yaml is granted (Slack names them on every response)
MANIFEST_SCOPES = ["chat:write", "channels:read", "groups:read", "channels:history", "groups:history", "users:read",
                   "usergroups:read", "reactions:write", "files:read", "files:write", "commands"]


class FakeSlack:
    def __init__(self) -> None:
        self.channels = {"support-seo": "C0SEO", "support-checkout": "C0CHK", "random": "C0RND"}
        self.members = {"C0SEO": ["U0000BOB", BOT_USER], "C0CHK": ["U0000CAT"], "C0RND": ["U0000EVE", "U0000BOB"]}
        self.users = {"U0000BOB": "Bob", "U0000CAT": "Cat", "U0000EVE": "Eve"}
        self.usergroups: dict[str, list[str]] = {"S0000STAFF": ["U0000EVE"]}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.responses: list[dict[str, Any]] = []  # what listeners sent to a response_url
        self.uploads: dict[str, bytes] = {}
        self.upload_names: dict[str, str] = {}  # file id -> the filename given to files.getUploadURLExternal
        self.files: dict[str, tuple[bytes, str]] = {}  # served at GET /files/<name>
        self.file_auth: list[str | None] = []  # Authorization header of each file download
        self.rate_limit: list[str] = []  # Retry-After values for the next chat.postMessage calls
        # method -> Slack error codes to answer next; None lets that call succeed
        self.errors: dict[str, list[str | None]] = {}
        # Slack's own limit per channel for chat.postMessage, when set: (burst, posts a second);
        # a post beyond it is answered 429 and counted in `limited`
        self.channel_limit: tuple[int, float] | None = None
        self.limited = 0
        self._allowance: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self.peers: list[Any] = []  # the client's (host, port) of each API call: one per connection
        self.times: list[float] = []  # the loop's time of each API call
        self.arrived = asyncio.Event()  # set by each API call (a waiter clears it)
        self.envelopes: list[dict[str, Any]] = []  # Socket Mode envelopes sent after hello
        self.ws_received: list[dict[str, Any]] = []
        self.on_ws_message: Any = None  # called with each frame the bot sends over Socket Mode
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel -> its messages, for conversations.replies
        self.scopes = list(MANIFEST_SCOPES)  # the X-OAuth-Scopes header
        self._ts = 0
        self._runner: web.AppRunner | None = None
        self.base = ""

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/response/{name}"

    # --- inspection --------------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [params for m, params in self.calls if m == method]

    def uploaded(self, filename: str) -> list[tuple[bytes, dict[str, Any]]]:
        """Each upload of `filename`: its bytes and the files.completeUploadExternal call that shared it."""
        found = []
        for complete in self.called("files.completeUploadExternal"):
            for f in complete.get("files", []):
                if self.upload_names.get(f["id"]) == filename:
                    found.append((self.uploads[f["id"]], complete))
        return found

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls if m != "auth.test"]

    # --- handlers ----------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in ("blocks", "files"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        params["_auth"] = request.headers.get("Authorization")
        self.calls.append((method, params))
        self.peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        self.times.append(asyncio.get_running_loop().time())
        self.arrived.set()
        if method == "chat.postMessage" and self.rate_limit:
            retry_after = self.rate_limit.pop(0)
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": retry_after})
        if method == "chat.postMessage" and self.channel_limit and not self._allowed(params["channel"]):
            self.limited += 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        if self.errors.get(method):
            error = self.errors[method].pop(0)
            if error is None:
                return web.json_response({"ok": True, **self._answer(method, params)})
            if error == "http500":
                return web.json_response({"ok": False, "error": "internal_error"}, status=500)
            return web.json_response({"ok": False, "error": error})
        return web.json_response({"ok": True, **self._answer(method, params)},
                                 headers={"X-OAuth-Scopes": ",".join(self.scopes)})

    def _allowed(self, channel: str) -> bool:
        """Slack's tolerance as a token bucket per channel (channel_limit)."""
        assert self.channel_limit is not None
        burst, rate = self.channel_limit
        now = asyncio.get_running_loop().time()
        tokens, at = self._allowance.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        allowed = tokens >= 1.0
        self._allowance[channel] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": "T0TEAM", "user": "supportbot",
                    "url": "https://example.slack.com/"}
        if method == "apps.connections.open":
            return {"url": f"ws://127.0.0.1:{self.base.rsplit(':', 1)[1]}/ws"}
        if method == "conversations.list":
            return {"channels": [{"id": i, "name": n} for n, i in self.channels.items()],
                    "response_metadata": {"next_cursor": ""}}
        if method == "conversations.members":
            return {"members": self.members.get(p["channel"], []), "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            return {"users": self.usergroups.get(p["usergroup"], [])}
        if method == "users.info":
            name = self.users.get(p["user"], p["user"])
            return {"user": {"id": p["user"], "name": name.lower(), "profile": {"display_name": name}}}
        if method == "chat.postMessage":
            ts = self._next_ts()
            self._remember(p["channel"], {"ts": ts, "text": p.get("text"), "user": BOT_USER, "bot_id": BOT_ID,
                                          "thread_ts": p.get("thread_ts"), "metadata": p.get("metadata")})
            return {"channel": p["channel"], "ts": ts, "message": {"text": p.get("text")}}
        if method == "conversations.replies":
            return self._with_metadata(self._replies(p), p)
        if method == "conversations.history":  # top-level messages after `oldest`, newest first
            oldest = float(p.get("oldest") or 0)
            top = [m for m in self.history.get(p["channel"], []) if not m.get("thread_ts") and float(m["ts"]) > oldest]
            return self._with_metadata({"messages": top[::-1], "has_more": False}, p)
        if method in ("chat.update", "chat.delete"):
            return {"channel": p["channel"], "ts": p["ts"]}
        if method == "chat.postEphemeral":
            return {"message_ts": self._next_ts()}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.uploads) + 1:04d}"
            self.uploads[file_id] = b""
            self.upload_names[file_id] = str(p.get("filename", ""))
            return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            return {"files": [{"id": f["id"], "title": f.get("title", "")} for f in p.get("files", [])]}
        return {}

    def _remember(self, channel: str, message: dict[str, Any]) -> None:
        self.history.setdefault(channel, []).append({"type": "message", **message})

    def write_reply(self, channel: str, thread_ts: str, user: str, text: str) -> str:
        """A person's reply that exists only in the thread (written while no bot heard the event)."""
        ts = self._next_ts()
        self._remember(channel, {"ts": ts, "text": text, "user": user, "thread_ts": thread_ts})
        return ts

    @staticmethod
    def _with_metadata(answer: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        """Slack returns message metadata only when asked (include_all_metadata)."""
        if str(p.get("include_all_metadata")).lower() not in ("1", "true"):
            answer["messages"] = [{k: v for k, v in m.items() if k != "metadata"} for m in answer["messages"]]
        return answer

    def _replies(self, p: dict[str, Any]) -> dict[str, Any]:
        """The parent first, then replies after `oldest` (exclusive), `limit` a page, by cursor."""
        thread = [m for m in self.history.get(p["channel"], [])
                  if m["ts"] == p["ts"] or m.get("thread_ts") == p["ts"]]
        oldest = float(p.get("oldest") or 0)
        parent = [m for m in thread if m["ts"] == p["ts"]]
        rest = sorted((m for m in thread if m["ts"] != p["ts"] and float(m["ts"]) > oldest), key=lambda m: m["ts"])
        start, limit = int(p.get("cursor") or 0), int(p.get("limit") or 1000)
        page = rest[start:start + limit]
        more = start + limit < len(rest)
        return {"messages": parent + page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads)}", content_type="text/plain")

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _file(self, request: web.Request) -> web.Response:
        self.file_auth.append(request.headers.get("Authorization"))
        name = request.match_info["name"]
        if name not in self.files:
            return web.Response(status=404)
        if name.startswith("private-") and request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        data, content_type = self.files[name]
        return web.Response(body=data, content_type=content_type)

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0APP"}})
        for envelope in self.envelopes:
            await ws.send_json(envelope)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.ws_received.append(json.loads(msg.data))
                if self.on_ws_message is not None:
                    self.on_ws_message(self.ws_received[-1])
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return ws


async def eventually(check: Any, timeout: float = 3.0) -> None:
    """Wait until check() is truthy: bolt runs event listeners as background tasks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
