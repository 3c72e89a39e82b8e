"""The vendor's support policy as the core uses it (loaded from TOML by supportbot/policy_file.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.time.calendar import BusinessCalendar


@dataclass(frozen=True)
class ManualPage:
    title: str
    url: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    staff_channel: str
    manual: tuple[ManualPage, ...] = ()


@dataclass(frozen=True)
class SlaPolicy:
    response: timedelta = timedelta(hours=4)  # working time
    warn_before: timedelta = timedelta(hours=1)  # working time
    nudge_after: timedelta = timedelta(days=7)  # calendar time
    auto_close_after: timedelta = timedelta(days=28)  # calendar time
    auto_close_warning: timedelta = timedelta(days=3)  # calendar time


@dataclass(frozen=True)
class WeeklyReport:
    """[report]: the SLA report of the past week, posted into `channel` each `weekday` (0 = Monday)
    at `at` (the desk's local time)."""

    channel: str
    weekday: int = 0
    at: time = time(9)


@dataclass(frozen=True)
class Policy:
    calendar: BusinessCalendar
    products: dict[str, Product]
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    open_tickets_per_customer: int = 5
    link_attempts_per_hour: int = 5
    # rapidfuzz token_set_ratio at or above which two subjects are "the same subject"
    subject_similarity: int = 85
    # what a staff reply starts with to stay an internal note
    note_prefix: str = "note:"
    # when the licence behind an open ticket expires: close the ticket, or only warn staff
    on_licence_expiry: Literal["close", "warn"] = "close"
    renew_url: str = ""
    # Slack user ids (or handles) mentioned when the answer promise is breached
    leads: tuple[str, ...] = ()
    # notify the customer by DM on each staff answer (besides the ticket thread)
    dm_on_answer: bool = False
    # e-mail the customer on each staff answer when a mailer is configured
    email_on_answer: bool = True
    # staff's canned answers by name ([[snippet]]), sent with snippet_prefix + name alone (bot/tickets/snippets.py)
    snippets: dict[str, str] = field(default_factory=dict)
    snippet_prefix: str = "!"
    # how long after a close (not by inactivity) the customer may rate it; None: no rating asked
    rating_window: timedelta | None = timedelta(days=7)
    # the weekly SLA report ([report] in the policy file); None: not posted
    weekly_report: WeeklyReport | None = None
    # "product": staff act on the tickets of the products whose staff channel they are in;
    # "desk": every staff member acts on every ticket (one shared desk)
    staff_scope: Literal["product", "desk"] = "product"
    # erase the texts of tickets closed longer ago than this (None: keep them); statistics stay
    retention_messages_after: timedelta | None = None

    def product(self, sku: str) -> Product | None:
        return self.products.get(sku)
