"""The `supportbot` command: run, console, check-config, db upgrade, licences import, discord invite-url."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from supportbot import ops_cli
from supportbot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("supportbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportbot", description="Support desk: Discord customers, Slack staff.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the console when no Slack or Discord token is set)")
    console = sub.add_parser("console", help="the whole flow in one terminal, no platform account needed")
    console.add_argument("--script", help="play a script of console lines (see examples/demo.txt)")
    sub.add_parser("check-config", help="validate the policy file and settings, print a summary")
    db = sub.add_parser("db", help="database tasks")
    db.add_argument("action", choices=["upgrade"])
    licences = sub.add_parser("licences", help="licence tasks")
    licences.add_argument("action", choices=["import", "revoke"])
    licences.add_argument("file", help="import: CSV with columns key,email,product,expires_at; revoke: the key")
    discord = sub.add_parser("discord", help="Discord set-up helpers")
    discord.add_argument("action", choices=["invite-url"])
    discord.add_argument("--application-id", type=int, help="the application id (default: asked from Discord)")
    ops_cli.register(sub)  # backup, … (supportbot/ops_cli.py)
    return parser


def _setup_logging(settings: Settings) -> None:
    from supportbot.log_setup import configure_logging

    configure_logging(settings)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"supportbot: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    command = args.command or "run"
    try:
        return _dispatch(command, args, settings)
    except KeyboardInterrupt:
        return 130
    except SettingsError as exc:  # found while starting, e.g. a malformed ACCESS_ENCRYPTION_KEY
        print(f"supportbot: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from supportbot.policy_file import PolicyError

        if isinstance(exc, PolicyError):
            print(f"supportbot: the policy file has problems:\n{exc}", file=sys.stderr)
            return 2
        raise


def _dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command in ops_cli.COMMANDS:
        return ops_cli.dispatch(command, args, settings)
    if command == "check-config":
        from supportbot.config_report import check_config_report

        ok, report = check_config_report(settings)
        print(report)
        return 0 if ok else 1
    if command == "db":
        from storage.migrate import upgrade_sync

        upgrade_sync(settings.database_url)
        print("database is up to date")
        return 0
    if command == "licences" and args.action == "revoke":
        return ops_cli.revoke_licence(settings, args.file)
    if command == "licences":
        from supportbot.licence_import import import_file

        return asyncio.run(import_file(settings, Path(args.file)))
    if command == "discord":
        from supportbot.platforms import print_invite_url

        return asyncio.run(print_invite_url(settings, args.application_id))
    if command == "console":
        from supportbot.console_mode import main_console

        return main_console(settings, args.script)
    if not (settings.slack_enabled or settings.discord_enabled):
        from supportbot.console_mode import main_console

        print("No SLACK_BOT_TOKEN or DISCORD_TOKEN set: starting the local console (see README).")
        return main_console(settings, None)
    from supportbot.platforms import run_platforms

    asyncio.run(run_platforms(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
