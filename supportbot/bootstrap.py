"""The composition root: settings in, a wired desk, store and dispatcher out. Nothing is built
at import time; every engine, client and task is made here and closed by `Runtime.close`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.crypto import FernetCipher
from adapters.licence_http import HttpLicenceSource
from bot.customers.licences import StoredLicences
from bot.delivery.new_rows import NewRows
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Target
from bot.ports import Cipher, Clock, DeliveryPort, LicenceSource, UnitOfWorkFactory
from storage.engine import make_connection_factory, make_engine
from storage.erasure import erase_closed_texts
from storage.migrate import probe, upgrade
from storage.notify import listen_for_outbox
from storage.uow import sql_uow_factory
from supportbot.config_report import policy_path
from supportbot.database_url import DatabaseUnavailable, connect_failure
from supportbot.metered import MeteredLicences, metered_ports, metered_uow
from supportbot.metrics import Metrics
from supportbot.policy_file import load_policy
from supportbot.process_identity import dead_on_this_host, process_identity
from supportbot.settings import Settings, SettingsError

log = logging.getLogger(__name__)


@dataclass
class Store:
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    wake: asyncio.Event
    new_rows: NewRows  # which targets got rows (sets `wake`)


async def open_store(database_url: str, migrate: bool = True) -> Store:
    """Engine and unit-of-work factory, the schema brought up to date first: every entry point
    (run, console, licence import) works on a fresh database. DatabaseUnavailable says why not."""
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    try:
        if migrate:
            await upgrade(database_url)
        else:
            await probe(database_url)
    except (SQLAlchemyError, OSError, ImportError) as exc:
        raise DatabaseUnavailable(connect_failure(database_url, exc)) from None
    engine = make_engine(database_url)
    wake = asyncio.Event()
    new_rows = NewRows(wake)
    uow = sql_uow_factory(make_connection_factory(engine), on_commit=new_rows.added, one_at_a_time=sqlite,
                          hand_off=new_rows)
    return Store(engine, uow, wake, new_rows)


def licence_source(settings: Settings, uow: UnitOfWorkFactory) -> LicenceSource:
    if settings.licence_api_url:
        return HttpLicenceSource(settings.licence_api_url, settings.licence_api_token,
                                 settings.licence_api_email_url, settings.licence_api_timeout)
    return StoredLicences(uow)


def make_cipher(settings: Settings) -> Cipher:
    """The key of the temporary-access store, from ACCESS_ENCRYPTION_KEY. Without one, a random
    key for this process only: access sent now cannot be read after a restart."""
    key = settings.access_encryption_key.get_secret_value() if settings.access_encryption_key else ""
    if not key:
        log.warning("ACCESS_ENCRYPTION_KEY is not set: using a temporary key; temporary access customers "
                    "send now will be unreadable after a restart. Set one made with: python -c "
                    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")
        return FernetCipher.ephemeral()
    try:
        return FernetCipher(key)
    except ValueError:
        # never echo the key itself
        raise SettingsError(["ACCESS_ENCRYPTION_KEY: not a Fernet key (32 url-safe base64-encoded bytes)"]) from None


@dataclass
class Runtime:
    settings: Settings
    store: Store
    desk: Desk
    # encrypts temporary access at rest; handed to the adapters that take or show access
    cipher: Cipher = field(default_factory=FernetCipher.ephemeral)
    dispatcher: Dispatcher | None = None
    closers: list[Any] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    dispatcher_task: asyncio.Task[Any] | None = None
    metrics: Metrics = field(default_factory=Metrics)  # fed through the wrappers of supportbot/metered.py

    def start_dispatcher(self, ports: dict[Target, DeliveryPort], parallel: bool = True) -> Dispatcher:
        """The dispatcher over these ports; run_forever() is started by run_background()."""
        ports = metered_ports(ports, self.metrics, self.desk.clock)
        me = process_identity()
        self.dispatcher = Dispatcher(self.desk.uow, self.desk.clock, ports, wake=self.store.wake, parallel=parallel,
                                     new_rows=self.store.new_rows,
                                     owner=me, owner_is_dead=dead_on_this_host(me))
        return self.dispatcher

    async def render_metrics(self) -> bytes:
        """GET /metrics: the Prometheus text exposition."""
        return await self.metrics.render(self.store.engine)

    async def apply_retention(self) -> int:
        """[retention] messages_after: erase the texts of tickets closed longer ago (run daily)."""
        keep = self.desk.policy.retention_messages_after
        if keep is None:
            return 0
        erased = await erase_closed_texts(self.store.engine, self.desk.clock.now() - keep)
        if erased:
            log.info("retention: erased the texts of %s ticket(s) closed more than %s ago", erased, keep)
        return erased

    async def run_background(self) -> None:
        """Deliver continuously, woken by this process's commits and (PostgreSQL) other processes'."""
        assert self.dispatcher is not None
        stop_listening = await listen_for_outbox(self.store.engine, self.store.new_rows.anywhere)
        if stop_listening is not None:
            self.closers.append(stop_listening)
        self.dispatcher_task = asyncio.create_task(self.dispatcher.run_forever(), name="outbox")
        self.tasks.append(self.dispatcher_task)

    async def close(self) -> None:
        if self.dispatcher is not None and self.dispatcher_task is not None:
            self.dispatcher.stop()  # let the delivery in hand finish rather than cancel it mid-transaction
            await asyncio.wait([self.dispatcher_task], timeout=5)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for closer in reversed(self.closers):
            try:
                await closer()
            except Exception:
                log.exception("error while shutting down")
        close_licences = getattr(self.desk.licences, "close", None)
        if close_licences is not None:
            await close_licences()
        await self.store.engine.dispose()


async def build_runtime(settings: Settings, clock: Clock, mail_enabled: bool | None = None) -> Runtime:
    policy = load_policy(policy_path(settings))
    cipher = make_cipher(settings)  # before the store: a bad key fails fast, leaking no engine
    store = await open_store(settings.database_url)
    if mail_enabled is None:
        mail_enabled = bool(settings.smtp_host)
    metrics = Metrics()
    licences = MeteredLicences(licence_source(settings, store.uow), metrics, clock)
    desk = Desk(metered_uow(store.uow, metrics), clock, policy, licences, mail_enabled=mail_enabled)
    return Runtime(settings, store, desk, cipher=cipher, metrics=metrics)
