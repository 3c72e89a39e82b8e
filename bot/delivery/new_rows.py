"""Which platforms got new outbox rows since the dispatcher last looked, so a pass leases only
those (a lease over a platform with nothing due is a transaction for nothing).

The unit of work's commit hook calls `added` with the targets of the rows it committed (a commit
that added none wakes nobody); a signal that cannot say which (another process's NOTIFY)
calls `anywhere`. Commits the dispatcher makes itself are not signalled: what they add (a
reaction to a delivered answer) is leased in the same pass, so a wake-up would find nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from contextvars import ContextVar

from bot.domain import Target

# set while the dispatcher itself is in a unit of work (its own task only)
in_dispatcher: ContextVar[bool] = ContextVar("in_outbox_dispatcher", default=False)


class NewRows:
    def __init__(self, wake: asyncio.Event | None = None) -> None:
        self.wake = wake or asyncio.Event()
        self._targets: set[Target] = set()
        self._anywhere = False
        self._listeners: list[tuple[Target, asyncio.Event]] = []

    def added(self, targets: Collection[Target]) -> None:
        if in_dispatcher.get() or not targets:
            return
        self._targets.update(targets)
        self.wake.set()
        for target, event in self._listeners:
            if target in targets:
                event.set()

    def anywhere(self) -> None:
        self._anywhere = True
        self.wake.set()
        for _, event in self._listeners:
            event.set()

    def take(self) -> set[Target] | None:
        """The targets to look at now, and forget them; None: every target (no hint, or a
        signal that could not say which)."""
        targets, anywhere = self._targets, self._anywhere
        self._targets, self._anywhere = set(), False
        return None if anywhere or not targets else targets

    def waiting(self, target: Target) -> bool:
        """Whether rows for `target` may have been committed since the last take (not taken)."""
        return self._anywhere or target in self._targets

    def listen(self, target: Target) -> asyncio.Event:
        """An event set by every later commit that adds rows for `target` (or cannot say which):
        a pass still delivering takes them at once (bot/delivery/lanes.py), not after its slowest delivery."""
        event = asyncio.Event()
        self._listeners.append((target, event))
        return event
