"""Reading the console's input lines without holding the process: input() runs in a daemon
thread, so Ctrl-C (or quit) ends the console at once instead of waiting for one more Enter."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class LineReader:
    async def read(self, prompt: str) -> str | None:
        """The next line, or None at end of input (Ctrl-D, a closed pipe)."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()

        def settle(line: str | None) -> None:
            if not answer.done():
                answer.set_result(line)

        def read_one() -> None:
            try:
                line: str | None = input(prompt)
            except (EOFError, OSError, ValueError):
                line = None
            with contextlib.suppress(RuntimeError):  # the loop is gone: the console already ended
                loop.call_soon_threadsafe(settle, line)

        threading.Thread(target=read_one, name="console-input", daemon=True).start()
        return await answer
