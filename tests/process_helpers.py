"""Running `supportbot` as a separate process, as an operator does, and reading what it says."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from supportbot.settings import Settings
from tests.e2e_helpers import POLICY


class Running:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, check: Callable[[list[str]], bool], within: float = 60.0) -> None:
        """Poll the output until check(lines) holds; generous bound, the CPU is shared."""
        async with asyncio.timeout(within):
            while not check(self.lines):
                if self.process.returncode is not None:
                    await self._reader
                    assert check(self.lines), f"the process ended ({self.process.returncode}):\n{self.output}"
                    return
                await asyncio.sleep(0.05)

    async def exit_code(self, within: float = 60.0) -> int:
        async with asyncio.timeout(within):
            code = await self.process.wait()
            await self._reader
        return code

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)


def base_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a clean shell (no setting inherited) plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db", "SUPPORTBOT_CONFIG": str(policy),
                "PYTHONUNBUFFERED": "1"})
    env.update(settings)
    return env


@asynccontextmanager
async def supportbot(tmp_path: Path, *args: str, env: dict[str, str], stdin: bool = False) -> AsyncIterator[Running]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supportbot", *args, cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    running = Running(process)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await asyncio.gather(running._reader, return_exceptions=True)


def closed_port() -> int:
    """A port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class SilentServer:
    """Accepts connections and never answers (a black hole)."""

    def __init__(self) -> None:
        self.port = 0
        self.held: list[asyncio.StreamWriter] = []

    async def _hold(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.held.append(writer)


@asynccontextmanager
async def silent_server() -> AsyncIterator[SilentServer]:
    silent = SilentServer()
    server = await asyncio.start_server(silent._hold, "127.0.0.1", 0)
    silent.port = server.sockets[0].getsockname()[1]
    try:
        yield silent
    finally:
        for writer in silent.held:
            writer.close()
        server.close()
        await server.wait_closed()
