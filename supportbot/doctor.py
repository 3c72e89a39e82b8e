"""`supportbot doctor`: with the real settings, checks everything that can be checked from here
and prints one line per check: OK, or FAIL with what to do (SKIP when it is not configured)."""

from __future__ import annotations

import aiosmtplib
from alembic.script import ScriptDirectory
from sqlalchemy import text

from adapters.discord.doctor import check_discord
from adapters.licence_http import HttpLicenceSource
from adapters.slack.doctor import check_slack
from adapters.slack.staff import staff_channels
from bot.ports import LicenceUnavailable
from storage.engine import make_engine
from storage.migrate import alembic_config
from supportbot.backup import BackupError, sqlite_path
from supportbot.config_report import policy_path
from supportbot.policy_file import PolicyError, load_policy
from supportbot.settings import Settings

Finding = tuple[str, bool | None, str]  # ok None: skipped, not configured
PROBE_KEY = "supportbot-doctor-probe"  # a key no vendor sells: the API should answer "unknown"


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


async def check_database(url: str) -> list[Finding]:
    try:
        path = sqlite_path(url)
    except BackupError as exc:
        return [("database", False, str(exc))]
    if path is not None and not path.is_file():  # connecting would create an empty one
        return [("database", False, f"no SQLite database at {path}: run supportbot db upgrade")]
    engine = make_engine(url, connect_args={"timeout": 10} if url.startswith("postgresql") else {})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            try:
                current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
            except Exception:
                current = []
    except Exception as exc:
        return [("database", False, f"cannot connect ({type(exc).__name__}): check DATABASE_URL and that the "
                                    "server runs")]
    finally:
        await engine.dispose()
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if set(current) == heads:
        return [("database", True, "reachable, schema current")]
    return [("database", False, f"schema at {', '.join(current) or 'nothing'}, expected {', '.join(sorted(heads))}: "
                              "run supportbot db upgrade")]


async def check_smtp(settings: Settings) -> Finding:
    if not settings.smtp_host:
        return ("smtp", None, "SMTP_HOST is not set: no answer e-mails")
    implicit_tls = settings.smtp_tls and settings.smtp_port == 465
    client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, use_tls=implicit_tls,
                             start_tls=False, timeout=10)
    try:
        await client.connect()
        await client.ehlo()
        await client.quit()
    except (aiosmtplib.SMTPException, OSError) as exc:
        return ("smtp", False, f"cannot greet {settings.smtp_host}:{settings.smtp_port} ({type(exc).__name__}): "
                               "check SMTP_HOST and SMTP_PORT")
    return ("smtp", True, f"{settings.smtp_host}:{settings.smtp_port} answers EHLO")


async def check_licence_api(settings: Settings) -> Finding:
    if not settings.licence_api_url:
        return ("licence api", None, "LICENCE_API_URL is not set: licences come from imported CSV files")
    source = HttpLicenceSource(settings.licence_api_url, settings.licence_api_token, settings.licence_api_email_url,
                               settings.licence_api_timeout)
    try:
        await source.lookup(PROBE_KEY)
    except LicenceUnavailable as exc:
        return ("licence api", False, f"no usable answer ({exc}): check LICENCE_API_URL and LICENCE_API_TOKEN")
    finally:
        await source.close()
    return ("licence api", True, "answers")


async def run_checks(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    try:
        policy = load_policy(policy_path(settings))
        findings.append(("policy", True, f"{len(policy.products)} product(s)"))
        channels = staff_channels(policy)
    except PolicyError as exc:
        findings.append(("policy", False, f"{exc}".replace("\n", "; ") + ": fix the policy file"))
        channels = []
    findings += await check_database(settings.database_url)
    if settings.slack_bot_token is not None and _secret(settings.slack_bot_token):
        findings += await check_slack(_secret(settings.slack_bot_token), _secret(settings.slack_app_token) or None,
                                      settings.slack_api_url, channels)
    else:
        findings.append(("slack", None, "SLACK_BOT_TOKEN is not set"))
    if settings.discord_enabled:
        findings += await check_discord(_secret(settings.discord_token), settings.discord_api_url,
                                        settings.discord_guild_id, settings.discord_support_channel_id)
    else:
        findings.append(("discord", None, "DISCORD_TOKEN is not set"))
    findings.append(await check_smtp(settings))
    findings.append(await check_licence_api(settings))
    return findings


async def doctor(settings: Settings) -> int:
    findings = await run_checks(settings)
    for name, ok, detail in findings:
        print(f"{'SKIP' if ok is None else 'OK' if ok else 'FAIL':4}  {name}: {detail}")
    failed = sum(1 for _, ok, _ in findings if ok is False)
    print(f"{failed} problem(s)" if failed else "everything checked is fine")
    return 1 if failed else 0
