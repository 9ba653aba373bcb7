"""The composition root: the only place that reads settings and builds adapters and services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from contractsync.adapters.clock import SystemClock
from contractsync.adapters.ingress import WebhookSource, build_verifier, shape_named
from contractsync.adapters.ingress.dispatch import PendingDispatcher
from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import ensure_current
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.config import Settings
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.workflows import WorkflowDispatcher

if TYPE_CHECKING:
    from contractsync.workflows.engine import Engine as WorkflowEngine
    from contractsync.workflows.recovery import Worker


def build_clock() -> Clock:
    """The real clock."""
    return SystemClock()


def build_engine(settings: Settings, *, check_migrated: bool = True) -> Engine:
    """The hub database engine for ``settings.database.url`` (connects only to check it).

    Raises:
        ConfigError: if the URL is not SQLite or PostgreSQL, the database is unreachable, or
            (with ``check_migrated``) it is not at the shipped revision: the remediation
            says to run ``contractsync db upgrade``.
    """
    engine = create_engine_for(settings.database.url)
    if check_migrated:
        try:
            ensure_current(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def build_unit_of_work(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> SqlUnitOfWork:
    """A unit of work on the hub database (builds and checks the engine unless given one).

    Build the engine once per process with :func:`build_engine` and pass it in when many
    units are needed; one unit serves one thread at a time.

    Raises:
        ConfigError: as :func:`build_engine`.
    """
    return SqlUnitOfWork(engine or build_engine(settings), clock or build_clock())


# --- durable workflow engine and workers -------------------------------------------------------
# dbos costs about a second to import, so only the commands that run workflows pay for it:
# the imports live inside these functions.


def build_workflow_engine(
    settings: Settings, *, executor_id: str | None = None, poll_seconds: float = 1.0
) -> WorkflowEngine:
    """Register every workflow, give them their clients, and launch this process's engine.

    Raises:
        ConfigError: as ``contractsync.workflows.engine.start_engine``.
    """
    from contractsync.testing.effect_recorder import EffectRecorderClient
    from contractsync.workflows import probe
    from contractsync.workflows.engine import start_engine

    probe.bind_targets(EffectRecorderClient)
    return start_engine(settings, executor_id=executor_id, poll_seconds=poll_seconds)


def build_worker(
    settings: Settings, *, executor_id: str | None = None, poll_seconds: float = 1.0
) -> Worker:
    """Start a worker: claim its executor id, launch the engine, start heartbeat and recovery.

    The executor id is claimed in ``worker_heartbeats`` *before* the engine launches, so a
    survivor still recovering this id's previous life finishes first.

    Raises:
        ConfigError: the hub database is unreachable or not migrated, the executor id is held
            by a live process, or the engine cannot start.
    """
    import os
    import socket

    from contractsync.adapters.persistence.engine import create_engine_for
    from contractsync.adapters.persistence.migrate import ensure_current
    from contractsync.adapters.persistence.tables import worker_heartbeats
    from contractsync.workflows.engine import default_executor_id
    from contractsync.workflows.heartbeats import Heartbeats, WorkerIdentity
    from contractsync.workflows.recovery import RecoveryDuty, Worker, WorkerDuties

    ident = executor_id or settings.engine.executor_id or default_executor_id()
    me = WorkerIdentity(executor_id=ident, host=socket.gethostname(), pid=os.getpid())
    hub = create_engine_for(settings.database.url)
    try:
        ensure_current(hub)
        heartbeats = Heartbeats(
            hub, worker_heartbeats, stale_after_seconds=settings.engine.stale_after_seconds
        )
        heartbeats.claim(
            me, wait_seconds=settings.engine.stale_after_seconds + settings.engine.heartbeat_seconds
        )
        engine = build_workflow_engine(settings, executor_id=ident, poll_seconds=poll_seconds)
    except BaseException:
        hub.dispose()
        raise
    duties = WorkerDuties(
        heartbeats,
        RecoveryDuty(heartbeats, engine, me),
        me,
        heartbeat_seconds=settings.engine.heartbeat_seconds,
    )
    duties.start()
    return Worker(engine, duties, close=hub.dispose)


# --- HTTP API and webhook ingress ---------------------------------------------------------------


@dataclass(frozen=True)
class ApiContainer:
    """Everything the HTTP API needs, built once per process by :func:`build_api`.

    Attributes:
        settings: The validated settings.
        uow_factory: Builds a fresh unit of work (one per request or task).
        sources: The webhook sources by name (the ``/webhooks/{source}`` path segment).
        dispatcher: Starts the workflow of an accepted inbox message.
        clock: The hub clock (receive times, signature timestamp windows).
        check_ready: Raises ConfigError when the hub database is unreachable or not migrated.
        close: Releases what the container holds (the database pool).
    """

    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    sources: Mapping[str, WebhookSource]
    dispatcher: WorkflowDispatcher
    clock: Clock
    check_ready: Callable[[], None]
    close: Callable[[], None] = lambda: None


def build_webhook_sources(settings: Settings, *, clock: Clock) -> dict[str, WebhookSource]:
    """One verifier and body shape per ``ingress.sources`` entry; every secret read now.

    Raises:
        ConfigError: A secret's variable or file is missing, or a key is weak or malformed
            (the message names the variable or file, never the value).
    """
    tolerance = float(settings.ingress.timestamp_tolerance_seconds)
    sources: dict[str, WebhookSource] = {}
    for name, configured in settings.ingress.sources.items():
        keys = [ref.reveal().get_secret_value() for ref in configured.secrets]
        verifier = build_verifier(
            configured.scheme,
            keys,
            tolerance_seconds=tolerance,
            unix_time=lambda: clock.now().timestamp(),
        )
        sources[name] = WebhookSource(
            name=name,
            scheme=configured.scheme,
            verifier=verifier,
            shape=shape_named(configured.body_shape),
        )
    return sources


def build_dispatcher(settings: Settings) -> WorkflowDispatcher:
    """The dispatcher of the durable engine.

    Hook: until the engine's inbox workflow is wired here, messages are stored and stay
    RECEIVED; the dispatch sweep starts them as soon as this returns the engine's dispatcher.
    """
    return PendingDispatcher()


def build_api(
    settings: Settings,
    *,
    uow_factory: Callable[[], UnitOfWork] | None = None,
    dispatcher: WorkflowDispatcher | None = None,
    clock: Clock | None = None,
) -> ApiContainer:
    """Build what ``entrypoints.api.create_app`` serves; tests pass fakes for any part.

    Without ``uow_factory`` the hub database at ``settings.database.url`` is used (its pool is
    created, not connected: ``/readyz`` reports whether it is reachable and migrated).

    Raises:
        ConfigError: as :func:`build_webhook_sources`, or a database URL that is not SQLite or
            PostgreSQL.
    """
    clock = clock or build_clock()
    sources = build_webhook_sources(settings, clock=clock)
    dispatcher = dispatcher or build_dispatcher(settings)
    if uow_factory is not None:
        return ApiContainer(settings, uow_factory, sources, dispatcher, clock, lambda: None)
    engine = build_engine(settings, check_migrated=False)
    return ApiContainer(
        settings=settings,
        uow_factory=lambda: SqlUnitOfWork(engine, clock),
        sources=sources,
        dispatcher=dispatcher,
        clock=clock,
        check_ready=lambda: ensure_current(engine),
        close=engine.dispose,
    )
