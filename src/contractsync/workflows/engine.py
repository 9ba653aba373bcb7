"""The durable workflow engine (DBOS Transact 3.4): launch, start by business key, replay, recover.

DBOS keeps one engine per process (a module-level singleton), so ``start_engine`` may be
called once at a time; ``Engine.shutdown`` ends it and a new one may then start. Behaviour this
module relies on, each verified in reference/engine.md:

* Starting a workflow id that exists returns the existing run and runs nothing (§1.3).
* Recovery is scoped to the executor id and the application version (§1.5): the version is
  fixed per release (``APPLICATION_VERSION``) rather than DBOS's hash of the code, so a worker
  restarted with the same code and executor id resumes its own runs at launch.
* Queues enforce global concurrency and rate limits across processes on PostgreSQL (§1.6);
  their configuration lives in the database, last writer on the latest version wins. On
  SQLite under Python 3.11 DBOS timestamps have one-second precision, so a rate limit is
  only approximate there (§1.2); concurrency limits are exact on both.
* A dead executor's runs stay PENDING (and keep holding global concurrency slots) until some
  process recovers them; ``recover_executor`` does that for the recovery duty (§1.6).
* ``fork_from`` copies the steps before ``step`` and re-runs the rest under a new id;
  ``rewind`` re-runs a finished run in place from ``step`` (§1.3).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS, DBOSConfig, Queue, SetWorkflowID

from contractsync import __version__
from contractsync.config import QueueLimits, Settings
from contractsync.errors import ConfigError
from contractsync.workflows.runs import (
    Run,
    RunStatus,
    RunSummary,
    StepSummary,
    summarize,
    summarize_step,
)
from contractsync.workflows.steps import workflow_name
from contractsync.workflows.system_database import (
    SYSTEM_SCHEMA,
    is_sqlite,
    sqlite_engine,
    system_database_url,
)

P = ParamSpec("P")
R = TypeVar("R")

APPLICATION_NAME = "contractsync"
"""The DBOS application name; runs of other applications in the same database are ignored."""

APPLICATION_VERSION = f"contractsync-{__version__}"
"""Fixed per release: recovery only resumes runs started by the same version."""


# DBOS is a process-wide singleton; this remembers whether it is ours and still running.
_current: Engine | None = None


def default_executor_id() -> str:
    """Return ``<host>-<pid>``, the executor id of a worker that was given none.

    Unique, but not stable across restarts: a restarted worker then relies on the recovery
    duty of a survivor (or of itself) to pick up the runs of its previous life.
    """
    return f"{socket.gethostname()}-{os.getpid()}"


def workflow_id(name: str, key: str) -> str:
    """Return the workflow id of the run of workflow ``name`` for business key ``key``.

    ``%`` and ``#`` in the key are percent-escaped: ``#`` marks replays
    (``runs.REPLAY_MARK``), so no business key can pass for a replay of another.
    """
    return f"{name}:{key.replace('%', '%25').replace('#', '%23')}"


@dataclass
class Engine:
    """The launched engine of this process.

    Attributes:
        executor_id: This process's stable executor id.
        system_database_url: Where the engine keeps its state.
        queues: The configured queue names and their limits.
    """

    executor_id: str
    system_database_url: str
    queues: Mapping[str, QueueLimits] = field(default_factory=dict)
    _registered: Mapping[str, Queue] = field(default_factory=dict, repr=False)
    _is_running: bool = True
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def application_version(self) -> str:
        """The version every run started here is recorded under."""
        return APPLICATION_VERSION

    def start(self, function: Callable[P, R], key: str, *args: P.args, **kwargs: P.kwargs) -> Run:
        """Start ``function`` in this process under the id derived from business ``key``.

        A second start with the same key is a no-op that returns the existing run (whatever
        its status), so callers need no "already started?" check.
        """
        with SetWorkflowID(workflow_id(workflow_name(function), key)):
            return Run(DBOS.start_workflow(function, *args, **kwargs))

    def enqueue(
        self, queue: str, function: Callable[P, R], key: str, *args: P.args, **kwargs: P.kwargs
    ) -> Run:
        """Put ``function`` on the ``queue`` of one external system, under business ``key``.

        Any worker listening to the queue runs it, within the queue's limits. A duplicate
        enqueue of the same key returns the existing run.

        Raises:
            ConfigError: if ``queue`` is not configured in ``engine.queues``.
        """
        registered = self._registered.get(queue)
        if registered is None:
            raise ConfigError(
                f"no queue named {queue!r} is configured",
                remediation=f"Add {queue} under engine.queues, or use one of {sorted(self.queues)}.",
            )
        with SetWorkflowID(workflow_id(workflow_name(function), key)):
            return Run(registered.enqueue(function, *args, **kwargs))

    def run(self, workflow_id: str) -> Run:
        """Return a handle on an existing run by id."""
        return Run(DBOS.retrieve_workflow(workflow_id))

    def send_decision(
        self, workflow_id: str, topic: str, payload: Any, *, idempotency_key: str | None = None
    ) -> None:
        """Deliver a human's decision to the run waiting in ``wait_for_decision(topic)``.

        A message sent before the run waits is kept until it does. With ``idempotency_key``,
        sending the same decision twice (a double click) delivers it once.
        """
        DBOS.send(workflow_id, payload, topic, idempotency_key=idempotency_key)

    def fork_from(self, workflow_id: str, step: int) -> Run:
        """Re-run ``workflow_id`` from step number ``step`` under a new, random id.

        Steps before ``step`` are copied with their recorded outputs, never executed; the
        original run stays as it was, for the audit trail. Step numbers are those of
        ``steps(workflow_id)``. The new id means new idempotency keys: to re-run a failed
        run without a second effect use ``workflows.replay`` (keys kept per lineage).
        """
        return Run(DBOS.fork_workflow(workflow_id, step, application_version=APPLICATION_VERSION))

    def rewind(self, workflow_id: str, step: int) -> Run:
        """Re-run a finished run in place (same id, same idempotency keys) from ``step``."""
        return Run(DBOS.rewind_workflow(workflow_id, start_step=step))

    def list_workflows(
        self,
        *,
        status: RunStatus | str | None = None,
        prefix: str | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """List runs, oldest first, optionally by status and workflow id prefix."""
        found = DBOS.list_workflows(
            status=None if status is None else str(status),
            workflow_id_prefix=prefix,
            limit=limit,
            load_input=False,
            load_output=False,
        )
        return [summarize(item) for item in found]

    def steps(self, workflow_id: str) -> list[StepSummary]:
        """Return the recorded steps of a run, in order."""
        return [summarize_step(item) for item in DBOS.list_workflow_steps(workflow_id)]

    def recover_executor(self, executor_id: str) -> list[str]:
        """Hand the PENDING runs of a dead executor back to the queues; return their ids.

        Uses DBOS's internal ``_recover_pending_workflows`` (3.4 has no public equivalent;
        Conductor, the commercial service, calls the same). It re-enqueues each run on its
        own queue, or DBOS's internal queue for a run started directly, with a conditional
        update on (status PENDING, executor id): a run already picked up again is untouched,
        so a repeated or concurrent recovery is harmless. Only runs of this
        application version are recovered; a step in flight at the death runs again.
        """
        handles = DBOS._recover_pending_workflows([executor_id])
        return [handle.get_workflow_id() for handle in handles]

    def on_shutdown(self, close: Callable[[], None]) -> None:
        """Call ``close`` once the engine has stopped (releases what its workflows used)."""
        self._closers.append(close)

    def shutdown(self, *, grace_seconds: int = 0) -> None:
        """Stop taking work, give running runs ``grace_seconds`` to finish, then stop.

        Runs still going at the deadline stay PENDING under this executor id: a restart with
        the same id, or a survivor's recovery duty, resumes them. Idempotent.
        """
        if not self._is_running:
            return
        self._is_running = False
        try:
            DBOS.destroy(workflow_completion_timeout_sec=grace_seconds)
        finally:
            for close in self._closers:
                close()


def start_engine(
    settings: Settings, *, executor_id: str | None = None, poll_seconds: float = 1.0
) -> Engine:
    """Launch the engine for this process and register one queue per external system.

    Args:
        settings: ``engine`` and ``database`` sections decide the system database
            (see ``system_database``), the executor id and the queues.
        executor_id: Beats ``settings.engine.executor_id``; else ``default_executor_id()``.
        poll_seconds: How often queues are polled for work and, on SQLite, how often waits
            look for messages. Lower is more responsive and costs idle database load.

    Workflows must be registered (their modules imported) before this is called.

    Raises:
        ConfigError: if the system database is unusable or an engine already runs here.
    """
    global _current
    if _current is not None and _current._is_running:
        raise ConfigError(
            "a workflow engine is already running in this process",
            remediation="Call Engine.shutdown() before starting another one.",
        )
    url = system_database_url(settings)
    executor = executor_id or settings.engine.executor_id or default_executor_id()
    config: DBOSConfig = {
        "name": APPLICATION_NAME,
        "system_database_url": url,
        "executor_id": executor,
        "application_version": APPLICATION_VERSION,
        "dbos_system_schema": SYSTEM_SCHEMA,
        "log_level": "WARNING",
        "notification_listener_polling_interval_sec": poll_seconds,
    }
    if is_sqlite(url):
        config["system_database_engine"] = sqlite_engine(url)
    DBOS(config=config)
    registered: dict[str, Queue] = {}
    try:
        DBOS.launch()
        for name, limits in settings.engine.queues.items():
            registered[name] = DBOS.register_queue(
                name,
                global_concurrency=limits.concurrency,
                limiter=None
                if limits.rate_limit is None
                else {"limit": limits.rate_limit, "period": limits.rate_period_seconds},
                polling_interval_sec=poll_seconds,
            )
    except BaseException:
        DBOS.destroy()
        raise
    _current = Engine(
        executor_id=executor,
        system_database_url=url,
        queues=settings.engine.queues,
        _registered=registered,
    )
    return _current
