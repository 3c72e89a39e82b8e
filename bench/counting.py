"""Counting what a bench's path runs in the database, outside the rounds it times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import statement_engines


@dataclass
class Counted:
    """Statements and transactions (committed or rolled back, read-only ones too) an engine ran,
    while watched: the benches count in rounds they do not time, as the listeners are work the
    measured path does not do."""

    statements: int = 0
    transactions: int = 0
    _listening: list[tuple[Any, str, Callable[..., None]]] = field(default_factory=list)

    def watch(self, engine: AsyncEngine) -> None:
        def _statement(*_: Any) -> None:
            self.statements += 1

        def _begin(*_: Any) -> None:
            self.transactions += 1

        for listened in statement_engines(engine):
            for name, listener in (("before_cursor_execute", _statement), ("begin", _begin)):
                event.listen(listened, name, listener)
                self._listening.append((listened, name, listener))

    def stop(self) -> None:
        while self._listening:
            event.remove(*self._listening.pop())

    def since(self, mark: tuple[int, int]) -> tuple[int, int]:
        return self.statements - mark[0], self.transactions - mark[1]

    def mark(self) -> tuple[int, int]:
        return self.statements, self.transactions
