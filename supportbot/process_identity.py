"""Who holds an outbox lease: "host:pid:token". A process starting on the same host can tell
that a holder is dead (its pid is gone, or it is this pid in an earlier life, as after a
container restart) and release its rows at once; holders on other hosts are left to their
lease's short expiry."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_on_this_host(me: str) -> Callable[[str], bool]:
    host = me.split(":", 1)[0]

    def is_dead(owner: str) -> bool:
        parts = owner.split(":")
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            return False  # another host (or a shape we do not know): let the lease expire
        pid = int(parts[1])
        if pid == os.getpid():
            return owner != me  # this pid, an earlier process (a restarted container)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's
        return False

    return is_dead
