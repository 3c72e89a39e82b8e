"""/tickets report in Slack: the summary ephemerally, the chart uploaded into the channel through the
outbox; the weekly report's summary and chart into the policy's channel."""

from __future__ import annotations

from datetime import datetime, time

from bot.domain import OutboxStatus
from bot.policy import WeeklyReport
from bot.reporting.weekly import post_weekly_report
from tests.slack.harness import Harness


async def test_tickets_report_answers_the_summary_and_uploads_the_chart(h: Harness):
    await h.open()
    await h.reply("Looking into it.", event_id="Ev9")
    await h.command("report")
    text = h.fake.responses[-1]["text"]
    assert h.fake.responses[-1]["response_type"] == "ephemeral"
    assert text.startswith("```SLA report, ") and "All products: 1 opened, 0 closed" in text
    assert "first answer (working time): average 0m, median 0m, p90 0m (1); within 4h: 1 of 1 (100%)" in text
    await h.dispatcher.run_once()
    [(png, complete)] = h.fake.uploaded("sla-report-2026-12-03.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and complete["channel_id"] == "C0SEO"
    assert complete["initial_comment"] == "SLA chart requested by <@U0000BOB>"


async def test_report_options_are_checked_and_non_staff_refused(h: Harness):
    await h.command("report since:2026-13-01")
    assert h.fake.responses[-1]["text"] == "2026-13-01 is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01."
    await h.command("report since:2026-12-05 until:2026-12-01")
    assert h.fake.responses[-1]["text"].startswith("The report's period is empty")
    await h.command("report", user="U0000ZED")
    assert h.fake.responses[-1]["text"] == "Only support staff can do this."
    assert not [o for o in h.store.state.outbox.values() if o.action == "report" and o.payload.get("requested_by")
                == "U0000ZED"]


async def test_weekly_report_posts_summary_and_chart_into_the_policy_channel(h: Harness):
    object.__setattr__(h.desk, "policy", h.desk.policy.__class__(
        **{**h.desk.policy.__dict__, "weekly_report": WeeklyReport("support-checkout", 3, time(9))}))
    h.clock.set(datetime.fromisoformat("2026-12-10T09:30+01:00"))
    assert await post_weekly_report(h.desk) == 1
    await h.dispatcher.run_once()
    [(png, complete)] = h.fake.uploaded("sla-report-2026-12-10.png")
    assert complete["channel_id"] == "C0CHK" and png[:4] == b"\x89PNG"
    assert complete["initial_comment"].startswith("*Weekly SLA report*\n```SLA report, Thu 03 Dec 2026 09:00 to "
                                                  "Thu 10 Dec 2026 08:59 (UTC+01:00)")
    [row] = [o for o in h.store.state.outbox.values() if o.action == "report"]
    assert row.status is OutboxStatus.DELIVERED
