"""LOG_FORMAT=json: what an adapter logs while delivering carries the ticket and the platform."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot.domain import OutboxItem, Target
from bot.ports import Delivery, RetryLater
from bot.time.clock import ManualClock
from supportbot.log_json import JsonFormatter
from supportbot.metered import MeteredPort
from supportbot.metrics import Metrics

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class LoggingPort:
    """Stands in for a platform: logs as adapters do, then fails the way Slack's rate limit does."""

    async def deliver(self, delivery: Delivery) -> str | None:
        logging.getLogger("adapters.slack.port").warning("rate limited, retry in %ss", 3)
        raise RetryLater("rate limited", 3)


async def test_lines_logged_during_a_delivery_name_its_ticket_and_platform() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("adapters.slack.port")
    logger.addHandler(handler)
    saved = logger.level, logging.getLogger("supportbot.elsewhere").level
    # an earlier test in this process may have run the console, which quiets the root logger
    logger.setLevel(logging.INFO)
    logging.getLogger("supportbot.elsewhere").setLevel(logging.INFO)
    try:
        metrics = Metrics()
        port = MeteredPort(LoggingPort(), "slack", metrics, ManualClock(NOW))
        item = OutboxItem(Target.STAFF, "post", {}, NOW, ticket_id=12)
        delivery = Delivery(1, "post", {}, SimpleNamespace(number=12), None, item)  # type: ignore[arg-type]
        with pytest.raises(RetryLater):
            await port.deliver(delivery)
        logging.getLogger("supportbot.elsewhere").addHandler(handler)
        logging.getLogger("supportbot.elsewhere").warning("after the delivery")
    finally:
        logger.removeHandler(handler)
        logging.getLogger("supportbot.elsewhere").removeHandler(handler)
        logger.setLevel(saved[0])
        logging.getLogger("supportbot.elsewhere").setLevel(saved[1])
    during, after = (json.loads(line) for line in stream.getvalue().splitlines())
    assert during["message"] == "rate limited, retry in 3s"
    assert (during["ticket"], during["platform"], during["level"]) == (12, "slack", "WARNING")
    assert datetime.fromisoformat(during["timestamp"]).tzinfo is not None
    assert "ticket" not in after and "platform" not in after  # the context ended with the delivery
    assert metrics.delivery_failures.labels("slack", "post", "retry")._value.get() == 1
