"""What every use case needs, gathered once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy import Policy
from bot.ports import Clock, LicenceSource, UnitOfWorkFactory


@dataclass(frozen=True)
class Desk:
    uow: UnitOfWorkFactory
    clock: Clock
    policy: Policy
    licences: LicenceSource
    # whether an e-mail port is wired: answer e-mails are only queued when someone can send them
    mail_enabled: bool = False
