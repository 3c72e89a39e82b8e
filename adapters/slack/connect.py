"""Checking the Slack tokens before connecting: a rejected token is named, an outage is retried."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.connect_errors import CredentialsRejected, Unreachable, short_reason

# Slack's answers that mean the token itself is wrong: waiting does not help
REJECTED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
            "not_allowed_token_type", "invalid_token", "missing_scope", "team_access_not_granted"}
HINTS = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-…) with connections:write under Basic Information",
}


async def check_slack_tokens(client: AsyncWebClient, app_token: str | None) -> None:
    """auth.test with the bot token, apps.connections.open with the app token (Socket Mode)."""
    await _call("SLACK_BOT_TOKEN", "auth.test", client.auth_test())
    if app_token:
        await _call("SLACK_APP_TOKEN", "apps.connections.open", client.apps_connections_open(app_token=app_token))


async def _call(setting: str, method: str, call: object) -> None:
    try:
        await call  # type: ignore[misc]
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        status = exc.response.status_code if exc.response is not None else 0
        if error in REJECTED:
            raise CredentialsRejected(f"Slack rejected {setting} ({error}): {HINTS[setting]}") from None
        if status >= 500 or status == 429 or error in ("ratelimited", "internal_error", "fatal_error"):
            raise Unreachable(f"Slack answered {method} with {error or status}") from None
        raise CredentialsRejected(f"Slack refused {method} with {setting} ({error or status})") from None
    except (TimeoutError, aiohttp.ClientError, OSError, SlackClientError) as exc:
        raise Unreachable(short_reason(exc)) from None
