"""The HTTP licence source against a local aiohttp server: answers, failures, and no token leaks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.licence_http import UNAVAILABLE_MESSAGE, HttpLicenceSource
from bot.domain import Licence
from bot.ports import LicenceUnavailable

TOKEN = "tok-3f9a-very-secret"

LICENCES = {
    "K-VALID": {"email": "Alice@Example.com", "product": "seo-suite", "expires_at": "2030-01-31"},
    "K-EXPIRED": {
        "key": "K-EXPIRED",
        "email": "bob@example.com",
        "product": "seo-suite",
        "expires_at": "2020-05-01T12:00:00Z",
    },
    "K/SLASH": {"email": "c@example.com", "product": "pdf", "expires_at": "2030-01-01T00:00:00+01:00"},
}


class Vendor:
    """A fake vendor API recording what it received."""

    def __init__(self) -> None:
        self.auth_headers: list[str | None] = []
        self.keys: list[str] = []

    async def licence(self, request: web.Request) -> web.StreamResponse:
        self.auth_headers.append(request.headers.get("Authorization"))
        key = request.match_info["key"]
        self.keys.append(key)
        if key == "K-SLOW":
            await asyncio.sleep(2)
        if key == "K-BROKEN":
            return web.Response(status=500, text=f"internal error, token was {TOKEN}")
        if key == "K-GARBLED":
            return web.Response(status=200, text="{not json", content_type="application/json")
        if key == "K-HALF":
            return web.json_response({"email": "a@example.com"})
        if key not in LICENCES:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(LICENCES[key])

    async def by_email(self, request: web.Request) -> web.StreamResponse:
        email = request.query["email"]
        found = [{"key": key, **data} for key, data in LICENCES.items() if data["email"].lower() == email]
        return web.json_response(found)


@pytest.fixture
async def vendor() -> AsyncIterator[tuple[Vendor, str]]:
    fake = Vendor()
    app = web.Application()
    app.router.add_get("/api/licences/{key}", fake.licence)
    app.router.add_get("/api/licences", fake.by_email)
    async with TestServer(app, host="127.0.0.1") as server:  # port 0: a random free port
        yield fake, str(server.make_url("/api/licences"))


@pytest.fixture
async def source(vendor: tuple[Vendor, str]) -> AsyncIterator[HttpLicenceSource]:
    _fake, base = vendor
    licences = HttpLicenceSource(
        key_url=base + "/{key}", token=TOKEN, email_url=base + "?email={email}", timeout=0.3
    )
    yield licences
    await licences.close()


async def test_a_valid_licence(source: HttpLicenceSource, vendor: tuple[Vendor, str]) -> None:
    licence = await source.lookup("K-VALID")

    assert licence == Licence("K-VALID", "alice@example.com", "seo-suite", datetime(2030, 2, 1, tzinfo=UTC))
    assert vendor[0].auth_headers == [f"Bearer {TOKEN}"]


async def test_an_expired_licence_is_still_a_licence(source: HttpLicenceSource) -> None:
    licence = await source.lookup("K-EXPIRED")

    assert licence is not None
    assert licence.expires_at == datetime(2020, 5, 1, 12, tzinfo=UTC)
    assert not licence.valid_at(datetime(2026, 1, 1, tzinfo=UTC))


async def test_the_key_is_url_quoted(source: HttpLicenceSource, vendor: tuple[Vendor, str]) -> None:
    licence = await source.lookup("K/SLASH")

    assert licence is not None and licence.product == "pdf"
    assert vendor[0].keys == ["K/SLASH"]


async def test_an_unknown_key_is_none(source: HttpLicenceSource) -> None:
    assert await source.lookup("K-NOPE") is None


@pytest.mark.parametrize("key", ["K-SLOW", "K-BROKEN", "K-GARBLED", "K-HALF"])
async def test_any_doubt_is_unavailable_and_never_leaks_the_token(
    source: HttpLicenceSource, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = asyncio.get_running_loop().time()

    with pytest.raises(LicenceUnavailable) as caught:
        await source.lookup(key)

    assert str(caught.value) == UNAVAILABLE_MESSAGE
    # No chained exception shown in tracebacks that could carry the request (and its headers).
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert TOKEN not in caplog.text
    assert "licence API" in caplog.text  # the failure is logged, just without secrets
    assert asyncio.get_running_loop().time() - started < 1.5  # the timeout cut the slow one short


async def test_a_server_that_is_down_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = web.Application()
    async with TestServer(app, host="127.0.0.1") as server:
        url = str(server.make_url("/api/licences")) + "/{key}"
    # The server is closed now: the port refuses connections.
    licences = HttpLicenceSource(key_url=url, token=TOKEN, timeout=1)
    try:
        with pytest.raises(LicenceUnavailable, match="cannot verify your licence"):
            await licences.lookup("K-VALID")
    finally:
        await licences.close()
    assert TOKEN not in caplog.text


async def test_for_email_uses_the_email_template(source: HttpLicenceSource) -> None:
    licences = await source.for_email(" ALICE@example.com")

    assert [licence.key for licence in licences] == ["K-VALID"]


async def test_for_email_without_a_template_is_empty(vendor: tuple[Vendor, str]) -> None:
    licences = HttpLicenceSource(key_url=vendor[1] + "/{key}", token=TOKEN)
    try:
        assert await licences.for_email("alice@example.com") == []
    finally:
        await licences.close()


def test_the_token_is_not_in_the_repr_of_the_source() -> None:
    licences = HttpLicenceSource(key_url="https://vendor.example/api/licences/{key}", token=TOKEN)

    assert TOKEN not in repr(vars(licences))


def test_a_template_without_key_is_refused() -> None:
    with pytest.raises(ValueError, match="must contain"):
        HttpLicenceSource(key_url="https://vendor.example/api/licences", token=TOKEN)
