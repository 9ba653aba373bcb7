"""Reconciliation on a schedule: one durable run per cron tick, however many processes fire it.

DBOS 3.4 keeps schedules in the engine's database (``apply_schedule``): every launched
engine (each ``serve`` and ``worker``) has a scheduler thread that, at each tick of
``reconciliation.schedule``, enqueues ``scheduled_reconciliation`` under the id
``sched-reconciliation-<tick, ISO 8601>`` unless a run with that id exists. The id is the
claim: the processes that fire one tick start one run between them, and it shows (and is
replayed) like any other run: ``contractsync replay workflow sched-reconciliation-...``.
Runs go on the queue ``reconciliation``, one at a time across all workers, so a run that
outlasts the interval delays the next tick's instead of overlapping it.

The run has one step, ``reconciliation.run``: the job bound at start-up (``bind_schedule``)
is built, run and closed, and the run's summary is recorded in the hub
(``services.scheduled_reconciliation``), logged in one line, and kept as the step's output
(``Engine.steps``). A ContractSyncError (bad settings, an unreadable policy) raises an
ExceptionItem for the integration admin and fails the run. The step is not retried (the next
tick is the retry); a worker that dies during it runs it again on recovery, which
reconciliation allows (an open item is never raised twice; a re-push is verified).

A tick that no engine is up to fire is skipped, not caught up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dbos import DBOS

from contractsync.domain.drift import ReconciliationReport
from contractsync.errors import ConfigError, ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services.scheduled_reconciliation import (
    describe,
    record_failure,
    record_run,
    run_summary,
)
from contractsync.workflows.steps import step, workflow

_log = logging.getLogger(__name__)

SCHEDULED_RECONCILIATION = "reconciliation"
"""The schedule's name, its workflow's registered name, and the middle of its run ids."""

RECONCILIATION_QUEUE = "reconciliation"
"""The queue scheduled runs go on; concurrency 1 across workers unless ``engine.queues`` says."""


class ReconciliationJob(Protocol):
    """One reconciliation, built from the settings (``bootstrap.Reconciliation`` is one)."""

    @property
    def notes(self) -> tuple[str, ...]:
        """What this job cannot compare with what is configured."""
        ...

    def run(self, *, heal: bool = True) -> ReconciliationReport:
        """Reconcile every CLM contract; see ``services.reconciliation_run.reconcile``."""
        ...

    def close(self) -> None:
        """Release what the job holds."""
        ...


@dataclass(frozen=True)
class ScheduleContext:
    """What scheduled runs work with, bound by the composition root.

    Attributes:
        build: Builds the reconciliation at each run (systems and policy read then).
        heal: Re-push healable drift (``reconciliation.heal``).
        uow_factory: A fresh unit of work on the hub database, for the summary or the item.
        clock: The hub clock.
    """

    build: Callable[[], ReconciliationJob]
    heal: bool
    uow_factory: Callable[[], UnitOfWork]
    clock: Clock


_bound: list[ScheduleContext] = []
_lock = threading.Lock()


def bind_schedule(context: ScheduleContext) -> None:
    """Give this process's scheduled runs their context (replaces an earlier one)."""
    with _lock:
        _bound[:] = [context]


def _context() -> ScheduleContext:
    with _lock:
        if not _bound:
            raise ConfigError(
                "this process runs scheduled reconciliations but was given nothing to reconcile",
                code="config.reconciliation_unbound",
                remediation="Set reconciliation.schedule in every serve and worker process's "
                "settings (they share one), then restart them.",
            )
        return _bound[0]


@step("reconciliation.run")
def reconcile_and_record(run_id: str, scheduled_at: datetime) -> dict[str, Any]:
    """Build, run and close the bound reconciliation; record and return its summary.

    Raises:
        ContractSyncError: the reconciliation could not run; an ExceptionItem says so.
    """
    context = _context()
    try:
        job = context.build()
        try:
            report = job.run(heal=context.heal)
        finally:
            job.close()
    except ContractSyncError as error:
        _log.error("reconciliation %s failed: [%s] %s", run_id, error.code, error.message)
        with context.uow_factory() as uow:
            item = record_failure(uow, context.clock, run_id=run_id, error=error)
            uow.commit()
        _log.error("reconciliation %s: see exception item %s", run_id, item.id)
        raise
    summary = run_summary(report, run_id=run_id, scheduled_at=scheduled_at, not_compared=job.notes)
    with context.uow_factory() as uow:
        record_run(uow, context.clock, summary)
        uow.commit()
    _log.log(logging.INFO if summary["clean"] else logging.WARNING, describe(summary))
    return summary


@workflow(SCHEDULED_RECONCILIATION)
def scheduled_reconciliation(scheduled_at: datetime, context: Any) -> None:
    """One scheduled run (DBOS passes the tick and the schedule's context, unused here)."""
    reconcile_and_record(DBOS.workflow_id or "", scheduled_at)


def apply_schedule(cron: str | None, *, time_zone: str = "UTC") -> None:
    """Create or replace the schedule in the engine's database; with None, delete it.

    Schedules outlive processes, so every engine applies the settings it was started with
    and the last one started wins: give all processes the same ``reconciliation`` section.
    Call after the engine launched, with the queue ``reconciliation`` registered when
    ``cron`` is set.
    """
    if cron is None:
        DBOS.delete_schedule(SCHEDULED_RECONCILIATION)
        return
    DBOS.apply_schedules(
        [
            {
                "schedule_name": SCHEDULED_RECONCILIATION,
                "workflow_fn": scheduled_reconciliation,
                "schedule": cron,
                "cron_timezone": time_zone,
                "queue_name": RECONCILIATION_QUEUE,
            }
        ]
    )


__all__ = [
    "RECONCILIATION_QUEUE",
    "SCHEDULED_RECONCILIATION",
    "ReconciliationJob",
    "ScheduleContext",
    "apply_schedule",
    "bind_schedule",
    "reconcile_and_record",
    "scheduled_reconciliation",
]
