"""The vendor's support policy as the core uses it (loaded from TOML by supportbot/policy_file.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bot.calendar import BusinessCalendar


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
    # erase the texts of tickets closed longer ago than this (None: keep them); statistics stay
    retention_messages_after: timedelta | None = None

    def product(self, sku: str) -> Product | None:
        return self.products.get(sku)
