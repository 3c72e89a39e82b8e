"""The operator's subcommands (backup, …), kept apart from supportbot/cli.py: `register` adds
their parsers, `dispatch` runs one and returns the exit status."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from supportbot.settings import Settings

COMMANDS = ("backup", "customer", "doctor")


def register(sub: Any) -> None:
    """`sub` is the main parser's subparsers action."""
    backup = sub.add_parser("backup", help="copy the SQLite database while the bot runs (PostgreSQL: pg_dump)")
    backup.add_argument("file", help="the new backup file (never overwritten)")
    sub.add_parser("doctor", help="check Slack, Discord, the database, SMTP and the licence API with these settings")
    customer = sub.add_parser("customer", help="a customer's data: show it, forget it, unlink a chat identity")
    customer.add_argument("action", choices=["show", "forget", "unlink"])
    customer.add_argument("target", help="the customer's e-mail (show, forget) or the platform (unlink: discord)")
    customer.add_argument("user_id", nargs="?", help="unlink: the platform's user id")
    customer.add_argument("--close-open", action="store_true", help="forget: close the open tickets first")


def dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "backup":
        from supportbot.backup import run_backup

        return run_backup(settings.database_url, Path(args.file))
    if command == "customer":
        if args.action == "unlink" and not args.user_id:
            print("usage: supportbot customer unlink PLATFORM USER_ID", file=sys.stderr)
            return 2
        from supportbot.customer_cli import customer_command

        return asyncio.run(customer_command(settings, args))
    if command == "doctor":
        from supportbot.doctor import doctor

        return asyncio.run(doctor(settings))
    raise AssertionError(command)


def revoke_licence(settings: Settings, key: str) -> int:
    """`supportbot licences revoke KEY`."""
    from supportbot.customer_cli import revoke_command

    return asyncio.run(revoke_command(settings, key))
