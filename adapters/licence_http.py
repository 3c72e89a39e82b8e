"""The vendor's licence API over HTTP (aiohttp). Never a false yes: any doubt is LicenceUnavailable."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from pydantic import SecretStr

from bot.customers.licence_csv import normalise_email, parse_expires_at
from bot.domain import Licence
from bot.ports import LicenceSource, LicenceUnavailable

log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "cannot verify your licence right now, please try again in a few minutes"


class _Malformed(Exception):
    """The API answered 200 with something that is not a licence."""


class HttpLicenceSource(LicenceSource):
    """GET `key_url` (with `{key}`) and optionally `email_url` (with `{email}`), bearer-authenticated.

    Answers: 200 + JSON licence -> Licence, 404 -> unknown; anything else (timeout,
    connection error, other status, malformed body) -> LicenceUnavailable.
    """

    def __init__(
        self,
        key_url: str,
        token: SecretStr | str | None = None,
        email_url: str | None = None,
        timeout: float = 5.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if "{key}" not in key_url:
            raise ValueError("the licence URL must contain {key}")
        if email_url is not None and "{email}" not in email_url:
            raise ValueError("the licence e-mail URL must contain {email}")
        self._key_url = key_url
        self._email_url = email_url
        # Kept as a SecretStr so a repr of this object never shows it.
        self._token = token if isinstance(token, SecretStr) or token is None else SecretStr(token)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._host = urlsplit(key_url).netloc

    async def lookup(self, key: str) -> Licence | None:
        key = key.strip()
        if not key:
            return None
        url = self._key_url.replace("{key}", quote(key, safe=""))
        body = await self._get_json(url, what=f"licence {_masked(key)}")
        if body is None:
            return None
        try:
            return _licence_from(body, default_key=key)
        except _Malformed as exc:
            log.warning("licence API at %s sent a malformed licence: %s", self._host, exc)
            raise LicenceUnavailable(UNAVAILABLE_MESSAGE) from None

    async def for_email(self, email: str) -> Sequence[Licence]:
        if self._email_url is None:
            return []
        url = self._email_url.replace("{email}", quote(email.strip().lower(), safe=""))
        body = await self._get_json(url, what="licences of an e-mail")
        if body is None:
            return []
        try:
            if not isinstance(body, list):
                raise _Malformed("expected a JSON list")
            return [_licence_from(item, default_key=None) for item in body]
        except _Malformed as exc:
            log.warning("licence API at %s sent a malformed licence list: %s", self._host, exc)
            raise LicenceUnavailable(UNAVAILABLE_MESSAGE) from None

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._owns_session = True
        return self._session

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._token is not None and self._token.get_secret_value():
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return headers

    async def _get_json(self, url: str, what: str) -> Any:
        """The decoded JSON of a 200, None for a 404; LicenceUnavailable otherwise.

        Log lines carry the host and the failure kind only: never the URL's key,
        the headers (token) or the exception text, which may echo either.
        """
        try:
            async with self._client().get(url, headers=self._headers(), timeout=self._timeout) as resp:
                if resp.status == 404:
                    return None
                if resp.status != 200:
                    log.warning("licence API at %s answered %s for %s", self._host, resp.status, what)
                    raise LicenceUnavailable(UNAVAILABLE_MESSAGE)
                return await resp.json(content_type=None)
        except LicenceUnavailable:
            raise
        except TimeoutError:  # asyncio.TimeoutError is the same class since 3.11
            log.warning("licence API at %s timed out for %s", self._host, what)
        except aiohttp.ClientError as exc:
            log.warning("licence API at %s unreachable for %s (%s)", self._host, what, type(exc).__name__)
        except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            log.warning("licence API at %s sent a body that is not JSON for %s", self._host, what)
        raise LicenceUnavailable(UNAVAILABLE_MESSAGE)


def _licence_from(body: Any, default_key: str | None) -> Licence:
    if not isinstance(body, dict):
        raise _Malformed("expected a JSON object")
    fields = {}
    for name in ("email", "product", "expires_at"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _Malformed(f"{name} missing or not a string")
        fields[name] = value.strip()
    key = body.get("key", default_key)
    if not isinstance(key, str) or not key.strip():
        raise _Malformed("key missing or not a string")
    email = normalise_email(fields["email"])
    if email is None:
        raise _Malformed("email is not an e-mail address")
    try:
        expires_at = parse_expires_at(fields["expires_at"])
    except ValueError:
        raise _Malformed("expires_at is not an ISO date or datetime") from None
    return Licence(key=key.strip(), email=email, product=fields["product"], expires_at=expires_at)


def _masked(key: str) -> str:
    """Enough of a key to match log lines, not enough to use it."""
    return f"{key[:4]}…" if len(key) > 8 else "…"
