"""`supportbot check-config`: which policy file is used, the policy in brief, the settings with
secrets hidden, and warnings about what is not set up."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import Fernet

from bot.policy import Policy
from bot.time.durations import format_duration
from supportbot.policy_file import PolicyError, load_policy
from supportbot.settings import Settings, redacted_summary

log = logging.getLogger(__name__)
EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.toml"


def policy_path(settings: Settings) -> Path | None:
    """SUPPORTBOT_CONFIG, else ./supportbot.toml; with no platform configured (trying it out),
    the example policy of a checkout so the console has products to show."""
    if settings.supportbot_config:
        path = Path(settings.supportbot_config)
        if not path.is_file():
            raise PolicyError([f"SUPPORTBOT_CONFIG={path}: no such file (from {Path.cwd()}); copy "
                               f"examples/policy.toml there and edit it, or unset SUPPORTBOT_CONFIG"])
        return path
    if Path("supportbot.toml").is_file():
        return Path("supportbot.toml")
    if not (settings.slack_mentioned or settings.discord_mentioned) and EXAMPLE_POLICY.is_file():
        log.debug("no SUPPORTBOT_CONFIG and no supportbot.toml: using the example policy %s", EXAMPLE_POLICY)
        return EXAMPLE_POLICY
    return None


def access_key_problem(settings: Settings) -> str | None:
    """What is wrong with ACCESS_ENCRYPTION_KEY, if anything (the key itself is never shown)."""
    if settings.access_encryption_key is None:
        return None
    try:
        Fernet(settings.access_encryption_key.get_secret_value())
    except ValueError:
        return "ACCESS_ENCRYPTION_KEY: not a Fernet key (32 url-safe base64-encoded bytes)"
    return None


def check_config_report(settings: Settings) -> tuple[bool, str]:
    """(ok, text) for `supportbot check-config`: the policy in brief and the settings,
    secrets hidden. Warnings (e.g. no products) do not make it fail."""
    from supportbot.startup import policy_refusal

    ok = True
    try:
        path = policy_path(settings)
        lines = [f"Policy ({path or 'built-in defaults'})"]
        policy = load_policy(path)
    except PolicyError as exc:
        ok = False
        lines = ["Policy", "  INVALID:"] + [f"    {problem}" for problem in exc.problems]
    else:
        lines += [f"  {line}" for line in describe_policy(policy)]
        refusal = policy_refusal(path, policy)
        if refusal and (settings.slack_mentioned or settings.discord_mentioned):
            ok = False  # the bot would refuse to start on it
            lines.append(f"  INVALID: {refusal}")
    lines.append("Settings")
    lines += [f"  {line}" for line in redacted_summary(settings)]
    key_problem = access_key_problem(settings)
    if key_problem:
        ok = False
        lines.append(f"  INVALID: {key_problem}")
    for problem in settings.platform_problems():
        ok = False
        lines.append(f"  INVALID: {problem}")
    warnings = []
    if not settings.slack_mentioned and not settings.discord_mentioned:
        warnings.append("neither Slack nor Discord is configured: only the console can be used")
    if settings.access_encryption_key is None:
        warnings.append("ACCESS_ENCRYPTION_KEY is not set: temporary access sent to staff is lost at each restart")
    if settings.licence_api_url is None:
        warnings.append("LICENCE_API_URL is not set: licences come from imported CSV files only")
    lines += [f"Warning: {warning}" for warning in warnings]
    lines.append("OK" if ok else "The configuration has problems (see above).")
    return ok, "\n".join(lines)


def describe_policy(policy: Policy) -> list[str]:
    sla = policy.sla
    lines = [
        f"Hours: {policy.calendar.describe_hours()}",
        f"SLA: first answer within {format_duration(sla.response)} of working time "
        f"(staff warned {format_duration(sla.warn_before)} before)",
        f"Waiting customers: nudged after {format_duration(sla.nudge_after)}, closed after "
        f"{format_duration(sla.auto_close_after)} (warned {format_duration(sla.auto_close_warning)} before)",
        f"Limits: {policy.open_tickets_per_customer} open tickets per customer, "
        f"{policy.link_attempts_per_hour} link attempts per hour",
        f"On licence expiry: {policy.on_licence_expiry}; note prefix {policy.note_prefix!r}",
    ]
    if not policy.products:
        lines.append(
            "Products: none. Customers cannot open tickets: set SUPPORTBOT_CONFIG to a policy "
            "file with [[product]] tables (sku, name, staff_channel)."
        )
        return lines
    lines.append(f"Products ({len(policy.products)}):")
    for product in policy.products.values():
        pages = f", {len(product.manual)} manual page(s)" if product.manual else ""
        lines.append(f"  {product.sku}: {product.name} -> staff channel {product.staff_channel}{pages}")
    return lines
