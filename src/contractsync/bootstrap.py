"""The composition root: the only place that reads settings and builds adapters and services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine

from contractsync.adapters.clock import SystemClock
from contractsync.adapters.ingress import WebhookSource, build_verifier, shape_named
from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import ensure_current
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.config import Settings
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.workflows import DecisionSender, LifecycleRuns, WorkflowDispatcher

if TYPE_CHECKING:
    from pydantic import BaseModel

    from contractsync.adapters.health import CheckableSystem, HealthCheck
    from contractsync.adapters.ingress.polling_runner import PollingRunner
    from contractsync.adapters.messaging.relay import OutboxRelay
    from contractsync.ports.ingress import Poller
    from contractsync.ports.systems import SystemHealth
    from contractsync.services.policy import Policy
    from contractsync.services.replay import ReplayTools
    from contractsync.workflows.engine import Engine as WorkflowEngine
    from contractsync.workflows.inbox import EngineDispatcher
    from contractsync.workflows.operator_runs import EngineOperatorRuns
    from contractsync.workflows.reconciliation_schedule import ReconciliationJob
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

_workflow_hooks: list[Callable[[], None]] = []
_hooks_run: set[int] = set()


def add_workflow_hook(hook: Callable[[], None]) -> None:
    """Run ``hook`` before this process builds its engine or dispatcher (once per process).

    The extension point for workflows and inbox handlers that are not shipped in the
    production tables: tests register their probe workflows and test handlers here (see
    ``contractsync.testing.workflow_hooks``); production registers nothing.
    """
    if hook not in _workflow_hooks:
        _workflow_hooks.append(hook)


def remove_workflow_hook(hook: Callable[[], None]) -> None:
    """Forget ``hook`` (tests undo what they added, so later tests see production tables)."""
    if hook in _workflow_hooks:
        _workflow_hooks.remove(hook)
    _hooks_run.discard(id(hook))


def _run_workflow_hooks() -> None:
    for hook in _workflow_hooks:
        if id(hook) not in _hooks_run:
            _hooks_run.add(id(hook))
            hook()


def _with_inbox_queue(settings: Settings) -> Settings:
    """``settings`` with the ``inbox`` queue configured (10 runs at a time unless set)."""
    from contractsync.config import QueueLimits
    from contractsync.errors import ConfigError
    from contractsync.workflows.handlers import INBOX_QUEUE, handler_queues

    queues = {INBOX_QUEUE: QueueLimits(concurrency=10), **settings.engine.queues}
    missing = sorted(handler_queues() - set(queues))
    if missing:
        raise ConfigError(
            f"inbox handlers run on queues that are not configured: {', '.join(missing)}",
            remediation="Add them under engine.queues with the external system's limits.",
        )
    engine = settings.engine.model_copy(update={"queues": queues})
    return settings.model_copy(update={"engine": engine})


def build_workflow_engine(
    settings: Settings,
    *,
    executor_id: str | None = None,
    poll_seconds: float = 1.0,
    hub: Engine | None = None,
    reconciliation: Callable[[], ReconciliationJob] | None = None,
) -> WorkflowEngine:
    """Register every workflow, give them the hub database, and launch this process's engine.

    Args:
        settings: The validated settings.
        executor_id: This process's executor id (see ``start_engine``).
        poll_seconds: Queue polling interval.
        hub: The hub database engine the inbox workflow reads and writes (built, and
            disposed with the engine, when not given).
        reconciliation: Builds the scheduled runs' reconciliation (tests pass fakes);
            :func:`build_reconciliation` from the settings when not given.

    When ``systems`` configures a CLM and an ERP the contract flows are bound to them
    (:func:`build_flow_context`); without, their messages fail into ExceptionItems saying so.
    With ``reconciliation.schedule`` set, the schedule is applied to the engine's database
    once it launched (its runs go on the queue ``reconciliation``); unset, it is deleted
    there (see ``workflows.reconciliation_schedule``).

    Raises:
        ConfigError: as ``contractsync.workflows.engine.start_engine``, an inbox handler
            whose queue is not configured, or the flows' systems or reference data.
    """
    from contractsync.workflows import inbox, reconciliation_schedule
    from contractsync.workflows.engine import start_engine

    _run_workflow_hooks()
    settings = _with_reconciliation_queue(_with_inbox_queue(settings))
    owned = hub is None
    hub_engine = hub if hub is not None else create_engine_for(settings.database.url)
    clock = build_clock()
    inbox.bind_storage(lambda: SqlUnitOfWork(hub_engine, clock), clock)
    schedule = settings.reconciliation
    try:
        if has_flow_systems(settings):
            from contractsync.workflows.flow_context import bind_flows

            uow_factory = lambda: SqlUnitOfWork(hub_engine, clock)  # noqa: E731
            bind_flows(build_flow_context(settings, uow_factory=uow_factory, clock=clock))
        if schedule.schedule is not None:
            reconciliation_schedule.bind_schedule(
                reconciliation_schedule.ScheduleContext(
                    build=reconciliation or build_scheduled_reconciliation(settings),
                    heal=schedule.heal,
                    uow_factory=lambda: SqlUnitOfWork(hub_engine, clock),
                    clock=clock,
                )
            )
        engine = start_engine(settings, executor_id=executor_id, poll_seconds=poll_seconds)
    except BaseException:
        if owned:
            hub_engine.dispose()
        raise
    try:
        reconciliation_schedule.apply_schedule(schedule.schedule, time_zone=schedule.timezone)
    except BaseException:
        engine.shutdown()
        if owned:
            hub_engine.dispose()
        raise
    if owned:
        engine.on_shutdown(hub_engine.dispose)
    return engine


def _with_reconciliation_queue(settings: Settings) -> Settings:
    """With a schedule: ``settings`` with the ``reconciliation`` queue (one run at a time)."""
    from contractsync.config import QueueLimits
    from contractsync.workflows.reconciliation_schedule import RECONCILIATION_QUEUE

    if settings.reconciliation.schedule is None:
        return settings
    queues = {RECONCILIATION_QUEUE: QueueLimits(concurrency=1), **settings.engine.queues}
    engine = settings.engine.model_copy(update={"queues": queues})
    return settings.model_copy(update={"engine": engine})


def build_worker(
    settings: Settings,
    *,
    executor_id: str | None = None,
    poll_seconds: float = 1.0,
    reconciliation: Callable[[], ReconciliationJob] | None = None,
) -> Worker:
    """Start a worker: claim its executor id, launch the engine, start heartbeat and recovery.

    The executor id is claimed in ``worker_heartbeats`` *before* the engine launches, so a
    survivor still recovering this id's previous life finishes first. ``reconciliation``:
    as :func:`build_workflow_engine`.

    Raises:
        ConfigError: the hub database is unreachable or not migrated, the executor id is held
            by a live process, or the engine cannot start.
    """
    import os
    import socket

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
        engine = build_workflow_engine(
            settings,
            executor_id=ident,
            poll_seconds=poll_seconds,
            hub=hub,
            reconciliation=reconciliation,
        )
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


def build_relay(settings: Settings) -> tuple[OutboxRelay, Callable[[], None]]:
    """The outbox relay to the configured bus, and what closes the bus and its pool.

    ``messaging.bus = inprocess`` relays to an in-process bus (embedded); ``nats`` connects
    to JetStream now and ensures the stream.

    Raises:
        TransientError: NATS is unreachable.
        ConfigError: the stream exists but does not capture contractsync's subjects, or the
            database URL is not SQLite or PostgreSQL.
    """
    from contractsync.adapters.messaging.relay import OutboxRelay
    from contractsync.ports.messaging import EventPublisher

    clock = build_clock()
    hub = create_engine_for(settings.database.url)
    publisher: EventPublisher
    closers: list[Callable[[], None]] = [hub.dispose]
    if settings.messaging.bus == "nats":
        from contractsync.adapters.messaging.nats import JetStreamBus, StreamSpec

        bus = JetStreamBus(settings.messaging.nats_url, StreamSpec(name=settings.messaging.stream))
        try:
            bus.connect()
        except BaseException:
            hub.dispose()
            raise
        publisher = bus
        closers.insert(0, bus.close)
    else:
        from contractsync.adapters.messaging.inprocess import InProcessBus

        publisher = InProcessBus()
    relay = OutboxRelay(
        lambda: SqlUnitOfWork(hub, clock), publisher, clock, batch=settings.messaging.relay_batch
    )

    def close() -> None:
        for each in closers:
            each()

    return relay, close


def build_replay_tools(settings: Settings) -> ReplayTools:
    """What ``services.replay`` works through: the hub database and the engine's database.

    Nothing runs workflows here: forks and starts are enqueued for the workers (in ``serve``
    or ``contractsync worker``). Call ``close`` when done.

    Raises:
        ConfigError: the hub database is unreachable or not migrated.
    """
    from contractsync.services.replay import ReplayTools
    from contractsync.workflows.client import EngineClient
    from contractsync.workflows.inbox import EngineDispatcher
    from contractsync.workflows.replay import EngineRuns

    _run_workflow_hooks()
    hub = build_engine(settings)
    clock = build_clock()
    try:
        client = EngineClient(settings)
    except BaseException:
        hub.dispose()
        raise

    def close() -> None:
        client.close()
        hub.dispose()

    return ReplayTools(
        uow_factory=lambda: SqlUnitOfWork(hub, clock),
        runs=EngineRuns(client),
        dispatcher=EngineDispatcher.through_client(lambda: client),
        clock=clock,
        close=close,
    )


def build_operator_runs(settings: Settings) -> EngineOperatorRuns:
    """What operator actions tell the engine: decisions to waiting runs, lifecycle starts.

    Works through the engine's database, connected at the first use, so it serves the API
    (with or without workers) and the CLI alike. Call ``close`` when done.
    """
    from contractsync.workflows.client import EngineClient
    from contractsync.workflows.operator_runs import EngineOperatorRuns

    return EngineOperatorRuns(lambda: EngineClient(settings))


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
        api_keys: The process API's keys (secrets held only as SHA-256 digests).
        amendment_policy: The policy amendment plans are decided by (dry runs too).
        replay_tools: Gives the replay tools (built at first use); None: no replay here.
        decisions: Tells a run waiting on an exception item that its owner closed it;
            None: runs notice at their next poll.
        lifecycle: Starts operator renewals and terminations; None: not from this process.
    """

    settings: Settings
    uow_factory: Callable[[], UnitOfWork]
    sources: Mapping[str, WebhookSource]
    dispatcher: WorkflowDispatcher
    clock: Clock
    check_ready: Callable[[], None]
    close: Callable[[], None] = lambda: None
    api_keys: tuple[ApiKey, ...] = ()
    amendment_policy: Policy | None = None
    replay_tools: Callable[[], ReplayTools] | None = None
    decisions: DecisionSender | None = None
    lifecycle: LifecycleRuns | None = None


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


def build_dispatcher(
    settings: Settings, *, engine: WorkflowEngine | None = None
) -> EngineDispatcher:
    """The durable engine's dispatcher (call its ``close`` when done).

    With ``engine`` (``serve`` running workers in process) runs are enqueued through it;
    without, through the engine's database for ``contractsync worker`` processes elsewhere
    (``serve --no-workers``), connected at the first dispatch. Either way a message's run
    is ``inbox:<source>:<event_id>``.

    Raises:
        ConfigError: an inbox handler's queue is not configured.
    """
    from contractsync.workflows.client import EngineClient
    from contractsync.workflows.inbox import EngineDispatcher

    _run_workflow_hooks()
    _with_inbox_queue(settings)  # refuses handlers on unconfigured queues, before any dispatch
    if engine is not None:
        return EngineDispatcher.in_process(engine)
    return EngineDispatcher.through_client(lambda: EngineClient(settings))


def build_api(
    settings: Settings,
    *,
    uow_factory: Callable[[], UnitOfWork] | None = None,
    dispatcher: WorkflowDispatcher | None = None,
    clock: Clock | None = None,
) -> ApiContainer:
    """Build what ``entrypoints.api.create_app`` serves; tests pass fakes for any part.

    Without ``uow_factory`` the hub database at ``settings.database.url`` is used (its pool is
    created, not connected: ``/readyz`` reports whether it is reachable and migrated), and
    operator actions reach the engine through :func:`build_operator_runs`; with one, the
    container has no engine for them (tests replace ``decisions`` and ``lifecycle``).

    Raises:
        ConfigError: as :func:`build_webhook_sources`, or a database URL that is not SQLite or
            PostgreSQL.
    """
    clock = clock or build_clock()
    sources = build_webhook_sources(settings, clock=clock)
    release: Callable[[], None] = lambda: None  # noqa: E731 - a given dispatcher is the caller's
    if dispatcher is None:
        built = build_dispatcher(settings)
        dispatcher, release = built, built.close
    keys, policy = build_api_keys(settings), build_amendment_policy(settings)
    if uow_factory is not None:
        return ApiContainer(
            settings, uow_factory, sources, dispatcher, clock, lambda: None, release, keys, policy
        )
    engine = build_engine(settings, check_migrated=False)
    replay_tools, close_replay = _lazy_replay_tools(settings)
    operator = build_operator_runs(settings)

    def close() -> None:
        operator.close()
        close_replay()
        release()
        engine.dispose()

    return ApiContainer(
        settings=settings,
        uow_factory=lambda: SqlUnitOfWork(engine, clock),
        sources=sources,
        dispatcher=dispatcher,
        clock=clock,
        check_ready=lambda: ensure_current(engine),
        close=close,
        api_keys=keys,
        amendment_policy=policy,
        replay_tools=replay_tools,
        decisions=operator,
        lifecycle=operator,
    )


def _lazy_replay_tools(settings: Settings) -> tuple[Callable[[], ReplayTools], Callable[[], None]]:
    """Replay tools built at the first ``POST /replays``, then shared; and what closes them.

    They connect to the engine's database, so a process that never replays never connects.
    """
    import threading

    lock = threading.Lock()
    built: list[ReplayTools] = []

    def tools() -> ReplayTools:
        with lock:
            if not built:
                built.append(build_replay_tools(settings))
            return built[0]

    def close() -> None:
        with lock:
            for each in built:
                each.close()
            built.clear()

    return tools, close


MIN_API_KEY_LENGTH = 32
"""Shortest accepted API key secret, in characters (about 190 bits when random base64)."""


@dataclass(frozen=True)
class ApiKey:
    """One process API key as the running API holds it: never the secret, only its digest.

    Attributes:
        name: The key id (audit actor, idempotency scope).
        role: The holder's role.
        scopes: What the key may do.
        secret_sha256: SHA-256 of the secret, compared in constant time.
    """

    name: str
    role: str
    scopes: frozenset[str]
    secret_sha256: bytes


def build_api_keys(settings: Settings) -> tuple[ApiKey, ...]:
    """Read every ``api.keys`` secret now and keep only its SHA-256 digest.

    Raises:
        ConfigError: A secret's variable or file is missing, or a secret is shorter than
            :data:`MIN_API_KEY_LENGTH` (the message names the key, never the value).
    """
    import hashlib

    from contractsync.errors import ConfigError

    keys: list[ApiKey] = []
    for configured in settings.api.keys:
        secret = configured.secret.reveal().get_secret_value()
        if len(secret) < MIN_API_KEY_LENGTH:
            raise ConfigError(
                f"the secret of API key {configured.name} is shorter than "
                f"{MIN_API_KEY_LENGTH} characters",
                code="config.api_key_weak",
                remediation="Generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`.",
            )
        digest = hashlib.sha256(secret.encode("utf-8")).digest()
        keys.append(ApiKey(configured.name, configured.role, configured.granted, digest))
    return tuple(keys)


def build_amendment_policy(settings: Settings) -> Policy:
    """The amendment policy: ``policy.amendments`` when set, else the shipped default.

    Raises:
        ConfigError: the file cannot be read or is not a valid policy.
    """
    from contractsync.errors import ConfigError
    from contractsync.policies import load_default_policy
    from contractsync.services.policy import parse_policy

    path = settings.policy.amendments
    if path is None:
        return load_default_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"the amendment policy {path} cannot be read",
            code="config.policy_unreadable",
            remediation="Fix policy.amendments, or remove it to use the shipped policy.",
        ) from exc
    return parse_policy(text)


# --- external systems, polling ingress and `contractsync check` --------------------------------
# Vendor adapters are imported only when a system of that vendor is configured.

_M = TypeVar("_M", bound="BaseModel")


def _adapter_settings(model: type[_M], name: str, values: Mapping[str, object]) -> _M:
    from pydantic import ValidationError

    from contractsync.errors import ConfigError

    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        # Messages only: pydantic's input values could hold a secret.
        problems = "; ".join(
            f"systems.{name}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(
            f"invalid settings for system {name}: {problems}",
            code="config.system_invalid",
            remediation=f"Fix systems.{name}.options (or .secrets) as the vendor's adapter "
            "settings in docs/systems.md describe.",
        ) from exc


def build_system(settings: Settings, name: str) -> CheckableSystem:
    """The adapter of ``systems.<name>``, its secrets read now; nothing is sent yet.

    Raises:
        ConfigError: No such system, a secret is unavailable (named, never shown), or the
            options do not fit the vendor adapter's settings (the key is named).
    """
    from contractsync.errors import ConfigError

    configured = settings.systems.get(name)
    if configured is None:
        raise ConfigError(f"no system {name} is configured", remediation="Add it under systems.")
    values = dict(configured.options) | {k: r.reveal() for k, r in configured.secrets.items()}
    vendor = configured.vendor
    if vendor == "salesforce":
        from contractsync.adapters.salesforce import SalesforceCustomerDirectory, SalesforceSettings

        crm = _adapter_settings(SalesforceSettings, name, values)
        return SalesforceCustomerDirectory.connect(crm, system=name)
    if vendor == "ironclad":
        from contractsync.adapters.ironclad import IroncladContractSource, IroncladSettings

        clm = _adapter_settings(IroncladSettings, name, values)
        return IroncladContractSource.connect(clm, system=name)
    if vendor == "docusign":
        from contractsync.adapters.docusign import DocuSignSettings, DocuSignSignatureSource

        esign = _adapter_settings(DocuSignSettings, name, values)
        return DocuSignSignatureSource.connect(esign, system=name)
    values.setdefault("system", name)  # these vendors' settings carry the system name
    if vendor == "kantata":
        from contractsync.adapters.kantata import KantataProjectTracker, KantataSettings

        return KantataProjectTracker.connect(_adapter_settings(KantataSettings, name, values))
    if vendor == "netsuite":
        from contractsync.adapters.netsuite import NetSuiteFinancialSystem, NetSuiteSettings

        return NetSuiteFinancialSystem.connect(_adapter_settings(NetSuiteSettings, name, values))
    from contractsync.adapters.tryton.client import TrytonClient
    from contractsync.adapters.tryton.config import TrytonSettings
    from contractsync.adapters.tryton.gateway import TrytonFinancialSystem

    erp = _adapter_settings(TrytonSettings, name, values)
    return TrytonFinancialSystem(TrytonClient(erp), erp)


def build_poller(settings: Settings, name: str) -> Poller:
    """The event feed of ``systems.<name>`` as a Poller (a PSA's ``poll_events``).

    Raises:
        ConfigError: as :func:`build_system`, or the system has no event feed to poll.
    """
    from contractsync.adapters.ingress.feed_poller import FeedPoller, tracker_event
    from contractsync.errors import ConfigError

    adapter = build_system(settings, name)
    feed = getattr(adapter, "poll_events", None)
    if feed is None:
        raise ConfigError(
            f"system {name} ({settings.systems[name].vendor}) has no event feed to poll",
            code="config.not_pollable",
            remediation=f"Remove ingress.pollers.{name}; this vendor's events come by webhook.",
        )
    return FeedPoller(feed, tracker_event)


def build_polling_runner(
    settings: Settings,
    *,
    uow_factory: Callable[[], UnitOfWork],
    dispatcher: WorkflowDispatcher,
    clock: Clock,
    pollers: Mapping[str, Poller] | None = None,
) -> PollingRunner:
    """The runner of every ``ingress.pollers`` source (not started); tests pass ``pollers``.

    Raises:
        ConfigError: as :func:`build_poller` for a source not in ``pollers``.
    """
    from contractsync.adapters.ingress.polling_runner import PollingJob, PollingRunner

    given = pollers or {}
    jobs = [
        PollingJob(
            source=name,
            poller=given[name] if name in given else build_poller(settings, name),
            interval_seconds=schedule.interval_seconds,
            page_limit=schedule.page_limit,
            max_pages=schedule.max_pages,
            backoff_cap_seconds=schedule.backoff_cap_seconds,
        )
        for name, schedule in settings.ingress.pollers.items()
    ]
    return PollingRunner(jobs, uow_factory=uow_factory, dispatcher=dispatcher, clock=clock)


def _check_system(settings: Settings, name: str) -> SystemHealth:
    return build_system(settings, name).check()


def build_checks(settings: Settings) -> list[HealthCheck]:
    """Every check ``contractsync check`` runs for ``settings``; nothing is contacted yet.

    The hub database, the workflow engine's database, NATS (when ``messaging.bus`` is
    nats), the keys of every webhook source, and every configured system's ``check()``.
    """
    from functools import partial

    from contractsync.adapters import health
    from contractsync.adapters.messaging.nats import StreamSpec
    from contractsync.workflows.system_database import system_database_url

    checks = [
        health.HealthCheck(
            "hub database",
            partial(health.probe_hub_database, settings.database.url),
            "Run `contractsync db upgrade`, or fix database.url.",
        ),
        health.HealthCheck(
            "workflow engine database",
            lambda: health.probe_engine_database(system_database_url(settings)),
            "Fix engine.system_database_url (or database.url, its default).",
        ),
    ]
    if settings.messaging.bus == "nats":
        spec = StreamSpec(name=settings.messaging.stream)
        checks.append(
            health.HealthCheck(
                "nats",
                partial(
                    health.probe_nats,
                    settings.messaging.nats_url,
                    stream=spec.name,
                    subjects=spec.subjects,
                ),
                f"Give stream {spec.name} the subjects {spec.subjects}, or use another "
                "messaging.stream.",
            )
        )
    tolerance = float(settings.ingress.timestamp_tolerance_seconds)
    for name, source in settings.ingress.sources.items():
        probe = partial(
            health.probe_webhook_keys,
            name,
            source.scheme,
            source.secrets,
            tolerance_seconds=tolerance,
        )
        checks.append(
            health.HealthCheck(f"webhook {name}", probe, f"Fix ingress.sources.{name}.secrets.")
        )
    for name, system in settings.systems.items():
        checks.append(
            health.HealthCheck(
                f"system {name} ({system.vendor})",
                partial(_check_system, settings, name),
                f"Check systems.{name}: its URL and credentials, and that the account may "
                "use the API.",
            )
        )
    return checks


# --- reconciliation -----------------------------------------------------------------------------

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    from contractsync.domain.customer import LegalEntity
    from contractsync.domain.drift import ReconciliationReport
    from contractsync.domain.ownership import OwnershipMap
    from contractsync.ports.systems import (
        ContractSource,
        CustomerDirectory,
        FinancialSystem,
        ProjectTracker,
    )

# The role each vendor's adapter plays in reconciliation (DocuSign signs; it holds no terms).
_RECONCILED_ROLES: dict[str, str] = {
    "ironclad": "clm",
    "tryton": "erp",
    "netsuite": "erp",
    "kantata": "psa",
    "salesforce": "crm",
}
# How each ERP adapter says "I do not hold this contract" (services never name a vendor).
_ABSENT_CODES = frozenset({"tryton.unknown_project", "netsuite.unknown_salesorder"})


@dataclass
class Reconciliation:
    """Everything ``services.reconciliation_run.reconcile`` needs, built from the settings.

    ``notes`` say what this run cannot do with what is configured (a role left out, ERP
    re-pushes without legal entities). Call :meth:`run` as often as needed (the CLI once,
    a scheduler periodically), then ``close``.
    """

    contracts: ContractSource
    erp: FinancialSystem
    psa: ProjectTracker | None
    crm: CustomerDirectory | None
    uow_factory: Callable[[], UnitOfWork]
    clock: Clock
    policy: Policy
    ownership: OwnershipMap
    absent_codes: frozenset[str]
    legal_entities: Mapping[str, LegalEntity]
    notes: tuple[str, ...]
    close: Callable[[], None]

    def run(
        self,
        *,
        contract_ids: Collection[str] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        heal: bool = True,
    ) -> ReconciliationReport:
        """Reconcile every CLM contract (or ``contract_ids``); see ``reconcile``."""
        from contractsync.services.reconciliation_run import reconcile

        return reconcile(
            contracts=self.contracts,
            erp=self.erp,
            psa=self.psa,
            crm=self.crm,
            uow_factory=self.uow_factory,
            clock=self.clock,
            policy=self.policy,
            contract_ids=contract_ids,
            on_progress=on_progress,
            heal=heal,
            legal_entities=self.legal_entities,
            ownership=self.ownership,
            absent_codes=self.absent_codes,
        )


def build_reconciliation_policy(path: Path | None) -> Policy:
    """The reconciliation policy in ``path``, else the shipped one.

    Raises:
        ConfigError: the file cannot be read or is not a valid policy over drift items.
    """
    from contractsync.errors import ConfigError
    from contractsync.policies import load_default_reconciliation_policy
    from contractsync.services.policy import parse_policy
    from contractsync.services.reconciliation_healing import RECONCILIATION_FACTS

    if path is None:
        return load_default_reconciliation_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"the reconciliation policy {path} cannot be read",
            code="config.policy_unreadable",
            remediation="Fix the path, or leave it out to use the shipped policy.",
        ) from exc
    return parse_policy(text, facts=RECONCILIATION_FACTS)


def _reconciled_systems(settings: Settings) -> dict[str, list[str]]:
    """The names of the systems reconciliation compares, by role.

    Raises:
        ConfigError: no CLM or no ERP, or two systems for one role.
    """
    from contractsync.errors import ConfigError

    by_role: dict[str, list[str]] = {}
    for name, system in settings.systems.items():
        role = _RECONCILED_ROLES.get(system.vendor)
        if role is not None:
            by_role.setdefault(role, []).append(name)
    for role, names in by_role.items():
        if len(names) > 1:
            raise ConfigError(
                f"reconciliation compares one {role.upper()}; systems configures {len(names)} "
                f"({', '.join(sorted(names))})",
                code="config.reconciliation_ambiguous",
                remediation="Keep one system of that role in the settings file you reconcile with.",
            )
    missing = [role.upper() for role in ("clm", "erp") if role not in by_role]
    if missing:
        raise ConfigError(
            f"reconciliation needs a {' and an '.join(missing)} under systems",
            code="config.reconciliation_incomplete",
            remediation="Configure systems with vendor ironclad (CLM) and tryton or netsuite "
            "(ERP); kantata (PSA) and salesforce (CRM) are compared when present.",
        )
    return by_role


def build_scheduled_reconciliation(settings: Settings) -> Callable[[], Reconciliation]:
    """What builds each scheduled run's reconciliation (``reconciliation`` settings).

    The systems and the policy file are checked now, so a process started with a schedule
    it cannot run stops at once; each run then builds (and closes) its own.

    Raises:
        ConfigError: as :func:`build_reconciliation`, before anything is connected.
    """
    policy_file = settings.reconciliation.policy
    _reconciled_systems(settings)
    build_reconciliation_policy(policy_file)
    return lambda: build_reconciliation(settings, policy_file=policy_file)


def build_reconciliation(
    settings: Settings,
    *,
    policy_file: Path | None = None,
    legal_entities: Mapping[str, LegalEntity] | None = None,
) -> Reconciliation:
    """The configured CLM, ERP, PSA and CRM and the hub database, ready to reconcile.

    One system per role is compared, chosen by vendor from ``systems``: exactly one CLM
    (Ironclad) and one ERP (Tryton or NetSuite), at most one PSA (Kantata) and one CRM
    (Salesforce). A PSA whose adapter cannot read project plans is left out, and so said
    in ``notes``. ERP re-pushes need our legal entities (the billing schedule is built for
    one): without ``legal_entities`` they come from the flows' reference data
    (``flows.reference``, else the examples'), the same the flows activate contracts with.

    Raises:
        ConfigError: no CLM or no ERP, two systems for one role, a system's settings are
            wrong, the hub database is not migrated, or the policy file is invalid.
    """
    from typing import cast

    by_role = _reconciled_systems(settings)
    policy = build_reconciliation_policy(policy_file)
    built = {role: build_system(settings, names[0]) for role, names in by_role.items()}
    notes: list[str] = []
    psa = built.get("psa")
    if psa is not None and not hasattr(psa, "project_plan"):
        notes.append(
            f"PSA {by_role['psa'][0]} not compared: its adapter cannot read project plans "
            "(ProjectTracker.project_plan) yet"
        )
        psa = None
    if "crm" not in built:
        notes.append("CRM not compared: no salesforce system is configured")
    if legal_entities is None:
        legal_entities = {e.code: e for e in build_reference(settings).legal_entities}
    if not legal_entities:
        notes.append(
            "ERP drift is raised, never re-pushed: no legal entities are configured for the "
            "billing schedule a push carries"
        )
    engine = build_engine(settings)
    clock = build_clock()
    return Reconciliation(
        contracts=cast("ContractSource", built["clm"]),
        erp=cast("FinancialSystem", built["erp"]),
        psa=cast("ProjectTracker | None", psa),
        crm=cast("CustomerDirectory | None", built.get("crm")),
        uow_factory=lambda: SqlUnitOfWork(engine, clock),
        clock=clock,
        policy=policy,
        ownership=settings.ownership,
        absent_codes=frozenset({"remote.not_found", *_ABSENT_CODES}),
        legal_entities=dict(legal_entities or {}),
        notes=tuple(notes),
        close=engine.dispose,
    )


# --- contract flows -----------------------------------------------------------------------------

if TYPE_CHECKING:
    from contractsync.services.contract_flow import FlowSystems, ReferenceData
    from contractsync.services.flow_triggers import TriggerReader
    from contractsync.workflows.flow_context import FlowContext

_VENDOR_ROLES = {
    "ironclad": "clm",
    "tryton": "erp",
    "netsuite": "erp",
    "salesforce": "crm",
    "kantata": "psa",
    "docusign": "esign",
}
"""The role each vendor's adapter plays for the contract flows."""


def _systems_by_role(settings: Settings) -> dict[str, str]:
    from contractsync.errors import ConfigError

    by_role: dict[str, list[str]] = {}
    for name, system in settings.systems.items():
        by_role.setdefault(_VENDOR_ROLES[system.vendor], []).append(name)
    doubled = {role: names for role, names in by_role.items() if len(names) > 1}
    if doubled:
        role, names = next(iter(doubled.items()))
        raise ConfigError(
            f"the contract flows need one {role} system; {', '.join(sorted(names))} are configured",
            code="config.flows_role_ambiguous",
            remediation=f"Keep one {role} system under systems for the flows.",
        )
    return {role: names[0] for role, names in by_role.items()}


def has_flow_systems(settings: Settings) -> bool:
    """True when ``systems`` configures the CLM and the ERP the contract flows need."""
    roles = {_VENDOR_ROLES[system.vendor] for system in settings.systems.values()}
    return {"clm", "erp"} <= roles


def build_systems(settings: Settings) -> FlowSystems:
    """The flows' systems by role, each built from ``systems`` (its secrets read now).

    Raises:
        ConfigError: no CLM or no ERP is configured, two systems play one role, or a
            system's settings are invalid (as :func:`build_system`).
    """
    from typing import cast

    from contractsync.errors import ConfigError
    from contractsync.ports import systems as ports
    from contractsync.services.contract_flow import FlowSystems

    names = _systems_by_role(settings)
    missing = sorted({"clm", "erp"} - set(names))
    if missing:
        raise ConfigError(
            f"the contract flows need a {' and an '.join(missing)} system",
            code="config.flows_systems_missing",
            remediation="Configure an Ironclad CLM and a Tryton or NetSuite ERP under systems.",
        )

    def built(role: str) -> object | None:
        return build_system(settings, names[role]) if role in names else None

    return FlowSystems(
        clm=cast(ports.ContractSource, built("clm")),
        erp=cast(ports.FinancialSystem, built("erp")),
        crm=cast("ports.CustomerDirectory | None", built("crm")),
        psa=cast("ports.ProjectTracker | None", built("psa")),
        esign=cast("ports.SignatureSource | None", built("esign")),
    )


def build_flow_readers(settings: Settings) -> dict[str, TriggerReader]:
    """Per system that sends the flows events (CLM, e-signature, CRM, PSA), its reader."""
    from contractsync.adapters.ingress.triggers import reader_for

    readers: dict[str, TriggerReader] = {}
    for name, system in settings.systems.items():
        if _VENDOR_ROLES[system.vendor] != "erp":
            field = str(system.options.get("contract_field", "contractId"))
            readers[name] = reader_for(system.vendor, name, contract_field=field)
    return readers


def build_reference(settings: Settings) -> ReferenceData:
    """Legal entities and service catalogue from ``flows.reference`` (else the examples').

    Raises:
        ConfigError: the file cannot be read or is not valid reference data.
    """
    from importlib import resources
    from pathlib import Path

    from contractsync.adapters.samples import REFERENCE_FILE, SampleError, load_reference
    from contractsync.errors import ConfigError
    from contractsync.services.contract_flow import ReferenceData

    local = Path("examples") / REFERENCE_FILE
    packaged = Path(str(resources.files("contractsync").joinpath("_examples", REFERENCE_FILE)))
    try:
        path = settings.flows.reference or (local if local.is_file() else packaged)
        loaded = load_reference(path)
    except SampleError as exc:
        raise ConfigError(
            f"the flows' reference data cannot be read: {exc.message}",
            code="config.flows_reference_invalid",
            remediation="Point flows.reference at a file like examples/reference.yaml.",
        ) from exc
    return ReferenceData(legal_entities=loaded.legal_entities, service_codes=loaded.service_codes)


def build_flow_context(
    settings: Settings,
    *,
    uow_factory: Callable[[], UnitOfWork],
    clock: Clock,
    systems: FlowSystems | None = None,
    reference: ReferenceData | None = None,
    readers: Mapping[str, TriggerReader] | None = None,
) -> FlowContext:
    """What the contract flows run with; tests pass their own systems, reference or readers.

    Raises:
        ConfigError: as :func:`build_systems`, :func:`build_reference` or the policy.
    """
    from contractsync.workflows.flow_context import FlowContext, FlowTiming

    return FlowContext(
        uow_factory=uow_factory,
        clock=clock,
        systems=systems or build_systems(settings),
        reference=reference or build_reference(settings),
        policy=build_amendment_policy(settings),
        readers=dict(readers) if readers is not None else build_flow_readers(settings),
        timing=FlowTiming(
            decision_poll_seconds=settings.flows.decision_poll_seconds,
            ordering_wait_seconds=settings.flows.ordering_wait_seconds,
        ),
    )
