"""Fixtures for the Slack adapter tests: a running FakeSlack and a desk wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.slack.fake_slack import FakeSlack
from tests.slack.harness import Harness, make_harness


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


@pytest.fixture
async def h(fake: FakeSlack) -> AsyncIterator[Harness]:
    harness = await make_harness(fake)
    yield harness
    await harness.slack.close()
