"""The operator's subcommands (backup, …), kept apart from supportbot/cli.py: `register` adds
their parsers, `dispatch` runs one and returns the exit status."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from supportbot.settings import Settings

COMMANDS = ("backup",)


def register(sub: Any) -> None:
    """`sub` is the main parser's subparsers action."""
    backup = sub.add_parser("backup", help="copy the SQLite database while the bot runs (PostgreSQL: pg_dump)")
    backup.add_argument("file", help="the new backup file (never overwritten)")


def dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "backup":
        from supportbot.backup import run_backup

        return run_backup(settings.database_url, Path(args.file))
    raise AssertionError(command)
