"""Reading the console's input lines inside the event loop, so Ctrl-C (or quit) ends the console
at once. input() in a thread would hold the process until one more Enter (an executor thread) or
abort it at exit (a daemon thread blocked inside stdin's buffer)."""

from __future__ import annotations

import asyncio
import os
import sys


class LineReader:
    def __init__(self, fd: int | None = None) -> None:
        if fd is None:
            try:
                fd = sys.stdin.fileno()
            except (OSError, ValueError):  # a replaced stdin (e.g. under a test runner)
                fd = None
        self.fd = fd
        self._buffer = b""
        self._eof = False

    async def read(self, prompt: str) -> str | None:
        """The next line, or None at end of input (Ctrl-D, a closed pipe)."""
        sys.stdout.write(prompt)
        sys.stdout.flush()
        while b"\n" not in self._buffer and not self._eof:
            chunk = await self._chunk()
            self._eof = not chunk
            self._buffer += chunk
        line, newline, rest = self._buffer.partition(b"\n")
        if not newline and not line:
            return None
        self._buffer = rest
        return line.decode(errors="replace").rstrip("\r")

    async def _chunk(self) -> bytes:
        if self.fd is None:
            try:
                return sys.stdin.readline().encode()
            except (OSError, ValueError):  # no input to read at all
                return b""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        try:
            loop.add_reader(self.fd, readable)
        except (PermissionError, ValueError, OSError):
            return os.read(self.fd, 65536)  # a regular file or /dev/null: never blocks
        try:
            await ready
        finally:
            loop.remove_reader(self.fd)
        return os.read(self.fd, 65536)
