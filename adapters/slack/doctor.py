"""`supportbot doctor`, Slack side: the token, its scopes against the manifest, the bot in each
staff channel, and the Socket Mode app token. Each finding is (check, ok, what to do or what is fine)."""

from __future__ import annotations

from pathlib import Path

import yaml
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import make_client

MANIFEST = Path(__file__).with_name("manifest.yaml")
Finding = tuple[str, bool, str]


def manifest_scopes() -> set[str]:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return set(manifest["oauth_config"]["scopes"]["bot"])


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


async def _channel_ids(client: AsyncWebClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    cursor = None
    while True:
        page = await client.conversations_list(types="public_channel,private_channel", limit=1000,
                                               exclude_archived=True, cursor=cursor)
        channels: list[dict] = page.get("channels") or []
        ids.update({c["name"]: c["id"] for c in channels})
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return ids


async def _is_member(client: AsyncWebClient, channel: str, user: str) -> bool:
    cursor = None
    while True:
        page = await client.conversations_members(channel=channel, limit=1000, cursor=cursor)
        if user in page.get("members", []):
            return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return False


async def check_slack(bot_token: str, app_token: str | None, api_url: str, channels: list[str]) -> list[Finding]:
    client = make_client(bot_token, api_url)
    try:
        auth = await client.auth_test()
    except (SlackClientError, OSError) as exc:
        return [("slack token", False, f"auth.test failed ({_error(exc)}): check SLACK_BOT_TOKEN (xoxb-…, "
                                       "OAuth & Permissions) and that SLACK_API_URL is reachable")]
    findings: list[Finding] = [("slack token", True, f"auth.test: bot {auth.get('user')} in team {auth.get('team_id')}")]
    granted = {s.strip() for s in (auth.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = sorted(manifest_scopes() - granted)
    findings.append(("slack scopes", not missing,
                     "every scope of the manifest is granted" if not missing else
                     f"missing {', '.join(missing)}: add them from adapters/slack/manifest.yaml and reinstall the app"))
    try:
        ids = await _channel_ids(client)
        for name in channels:
            check = f"slack channel #{name}"
            if name not in ids:
                findings.append((check, False, "not found: create it, or fix staff_channel in the policy"))
            elif not await _is_member(client, ids[name], str(auth.get("user_id"))):
                findings.append((check, False, f"the bot is not a member: /invite @{auth.get('user')} in #{name}"))
            else:
                findings.append((check, True, "the bot is a member"))
    except SlackClientError as exc:
        findings.append(("slack channels", False, f"cannot list channels ({_error(exc)})"))
    if app_token:
        try:
            await make_client(app_token, api_url).apps_connections_open(app_token=app_token)
            findings.append(("slack socket mode", True, "SLACK_APP_TOKEN opens a connection"))
        except (SlackClientError, OSError) as exc:
            findings.append(("slack socket mode", False, f"apps.connections.open failed ({_error(exc)}): make an "
                             "app-level token with connections:write (Basic Information) as SLACK_APP_TOKEN"))
    return findings
