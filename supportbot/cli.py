"""The `supportbot` command: run, console, check-config, db upgrade, licences import, discord invite-url.

Every way it can fail ends in a sentence on stderr and a non-zero status, never a traceback:
2 for a configuration the bot refuses, 1 for an outside service that cannot be reached."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from supportbot import ops_cli
from supportbot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("supportbot")

DB = "DATABASE_URL"
POLICY = "SUPPORTBOT_CONFIG"
SLACK = "SLACK_BOT_TOKEN, SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, SLACK_HTTP_PORT, SLACK_STAFF_USERGROUP"
DISCORD = "DISCORD_TOKEN, DISCORD_GUILD_ID, DISCORD_SUPPORT_CHANNEL_ID"
SETTINGS_HELP = "Settings come from the environment or .env (see .env.example)."


def _version() -> str:
    try:
        return version("supportbot")
    except PackageNotFoundError:
        return "unknown"


def _sub(sub: argparse._SubParsersAction, name: str, summary: str, reads: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=summary, description=f"{summary}.",
                          epilog=f"Reads: {reads}. {SETTINGS_HELP}")


def _parser() -> argparse.ArgumentParser:
    from supportbot.discord_invite import application_id

    parser = argparse.ArgumentParser(prog="supportbot", description="Support desk: Discord customers, Slack staff.",
                                     epilog="With no command: run. " + SETTINGS_HELP)
    parser.add_argument("--version", action="version", version=f"supportbot {_version()}")
    sub = parser.add_subparsers(dest="command")
    _sub(sub, "run", "run the bot (the console when no Slack or Discord setting is present)",
         f"{DB}, {POLICY}, {SLACK}, {DISCORD}, LICENCE_API_*, SMTP_*, ACCESS_ENCRYPTION_KEY, HEALTH_PORT, LOG_LEVEL")
    console = _sub(sub, "console", "the whole flow in one terminal, no platform account needed",
                   f"{POLICY}, ACCESS_ENCRYPTION_KEY (not {DB}: the console keeps its own database)")
    console.add_argument("--script", help="play a script of console lines (see examples/demo.txt)")
    console.add_argument("--database", metavar="URL",
                         help="the console's database (default: a fresh one for a script, "
                              "./supportbot-console.db when interactive); never one with Slack or Discord tickets")
    _sub(sub, "check-config", "validate the policy file and settings, print a summary", "every setting")
    db = _sub(sub, "db", "database tasks", DB)
    db.add_argument("action", choices=["upgrade"])
    licences = _sub(sub, "licences", "licence tasks", f"{DB}, {POLICY} (the products licences may name)")
    licences.add_argument("action", choices=["import", "revoke"])
    licences.add_argument("file", help="import: CSV with columns key,email,product,expires_at (any encoding, , or ; "
                                       "or tab); revoke: the licence key")
    discord = _sub(sub, "discord", "Discord set-up helpers", "DISCORD_TOKEN, DISCORD_API_URL")
    discord.add_argument("action", choices=["invite-url"])
    discord.add_argument("--application-id", type=application_id,
                         help="the application id (default: asked from Discord with DISCORD_TOKEN)")
    transcript = _sub(sub, "transcript", "a ticket's transcript (HTML or Markdown)", f"{DB}, {POLICY}")
    transcript.add_argument("number", type=int, help="the ticket number")
    transcript.add_argument("--format", choices=["html", "md"], default="html")
    transcript.add_argument("--customer", action="store_true", help="the customer's copy (no internal notes)")
    transcript.add_argument("--output", help="write to this file (default: standard output)")
    report = _sub(sub, "report", "the SLA report: answer times in working hours, per product and staff",
                  f"{DB}, {POLICY}")
    report.add_argument("--format", choices=["text", "csv", "png"], default="text")
    report.add_argument("--since", help="first day, YYYY-MM-DD (default: 7 days before --until or now)")
    report.add_argument("--until", help="last day included, YYYY-MM-DD (default: now)")
    report.add_argument("--output", help="write to this file (needed for png; default: standard output)")
    ops_cli.register(sub)  # backup, customer, doctor (supportbot/ops_cli.py)
    return parser


def user_path(name: str) -> Path:
    """A path given on the command line, from the directory the user typed it in (bin/run moves
    to the checkout and says where the user was in SUPPORTBOT_CALLER_DIR)."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path
    return Path(os.environ.get("SUPPORTBOT_CALLER_DIR") or Path.cwd()) / path


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C at any moment, even while the libraries are being imported
        print("", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"supportbot: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    from supportbot.log_setup import configure_logging

    configure_logging(settings)
    command = args.command or "run"
    try:
        return _dispatch(command, args, settings)
    except SettingsError as exc:  # found while starting, e.g. a malformed ACCESS_ENCRYPTION_KEY
        print(f"supportbot: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        return _explain(exc)


def _explain(exc: Exception) -> int:
    from supportbot.database_url import DatabaseUnavailable
    from supportbot.policy_file import PolicyError
    from supportbot.startup import StartupRefused

    if isinstance(exc, PolicyError):
        print(f"supportbot: the policy file has problems:\n{exc}", file=sys.stderr)
        return 2
    if isinstance(exc, StartupRefused):
        print(f"supportbot: cannot start: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, DatabaseUnavailable):
        print(f"supportbot: {exc}", file=sys.stderr)
        return 1
    raise exc


def _dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command in ops_cli.COMMANDS:
        return ops_cli.dispatch(command, args, settings)
    if command == "check-config":
        from supportbot.config_report import check_config_report

        ok, report = check_config_report(settings)
        print(report)
        return 0 if ok else 1
    if command == "db":
        from supportbot.bootstrap import open_store

        async def upgrade() -> None:
            store = await open_store(settings.database_url)
            await store.engine.dispose()

        asyncio.run(upgrade())
        print("database is up to date")
        return 0
    if command == "licences" and args.action == "revoke":
        return ops_cli.revoke_licence(settings, args.file)
    if command == "licences":
        from supportbot.licence_import import import_file

        return asyncio.run(import_file(settings, user_path(args.file)))
    if command == "discord":
        from supportbot.discord_invite import print_invite_url

        return asyncio.run(print_invite_url(settings, args.application_id))
    if command == "transcript":
        from supportbot.memory_cli import transcript_command

        return asyncio.run(transcript_command(settings, args.number, args.format, args.customer, args.output))
    if command == "report":
        from supportbot.memory_cli import report_command

        return asyncio.run(report_command(settings, args.format, args.since, args.until, args.output))
    if command == "console":
        from supportbot.console_mode import main_console

        script = user_path(args.script) if args.script else None
        return main_console(settings, script, args.database)
    problems = settings.platform_problems()
    if problems:
        print("supportbot: cannot start:\n" + "\n".join(problems), file=sys.stderr)
        return 2
    if not (settings.slack_mentioned or settings.discord_mentioned):
        from supportbot.console_mode import main_console

        print("No Slack or Discord setting is present: starting the local console (see README).")
        return main_console(settings, None, None)
    from supportbot.platforms import run_platforms

    asyncio.run(run_platforms(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
