"""What a reconciliation run leaves behind when nobody watches it: its summary, or its failure.

``contractsync reconcile`` prints its report; a run on the hub's schedule
(``reconciliation.schedule``) has no one reading along, so each run records its totals where
operators look, in the caller's unit of work (the caller commits):

* an audit entry ``reconciliation.completed`` with subject ``reconciliation:<run id>``;
* a business event ``reconciliation.completed`` whose id is made of the run id, so a run
  recorded again (its step re-run after a crash) still publishes one event.

Drift left for a person is already an ExceptionItem (reconciliation raises them); a run that
could not reconcile at all (bad settings, a policy file that does not parse) raises one more,
for the integration admin, pointing at the failed run so that a retry replays it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from contractsync.domain.drift import DriftOutcome, ReconciliationReport
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.exception_item import ExceptionItem
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import ConfigError, ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services.exception_queue import EVIDENCE_WORKFLOW, raise_exception
from contractsync.services.reconciliation_records import ACTOR

COMPLETED = "reconciliation.completed"
"""The audit action (and event type) of a recorded run."""

RUN_FAILED = "reconciliation.run_failed"
"""Code of the ExceptionItem raised when a scheduled run could not reconcile at all."""


def summarize(report: ReconciliationReport) -> dict[str, Any]:
    """The totals of ``report``: counts per outcome and kind, money at risk per currency.

    The same document as the ``summary`` of ``contractsync reconcile --json``.
    """
    outcomes = {outcome.value: 0 for outcome in DriftOutcome}
    for line in report.lines:
        outcomes[line.outcome.value] += 1
    return {
        "contracts": len(report.contracts),
        "drift": len(report.lines),
        "outcomes": outcomes,
        "failures": len(report.all_failures),
        "money_at_risk": {c: str(m.amount) for c, m in report.money_at_risk().items()},
        "unhealed_money_at_risk": {
            c: str(m.amount) for c, m in report.money_at_risk(unhealed_only=True).items()
        },
        "counts_by_kind": {k.value: n for k, n in report.counts_by_kind().items()},
        "clean": report.is_clean,
    }


def run_summary(
    report: ReconciliationReport,
    *,
    run_id: str,
    scheduled_at: datetime,
    not_compared: Sequence[str] = (),
) -> dict[str, Any]:
    """``summarize(report)`` with the run's id, tick, times and systems, and its notes.

    ``notes`` are the report's (a CLM version the hub rejected, and what was compared
    instead); ``not_compared`` what the settings leave out (the job's notes).
    """
    return {
        "run_id": run_id,
        "scheduled_at": scheduled_at.isoformat(),
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "systems": {role.value: name for role, name in report.systems.items()},
        "healing": report.healing,
        **summarize(report),
        "notes": report.notes,
        "not_compared": list(not_compared),
    }


def record_run(uow: UnitOfWork, clock: Clock, summary: Mapping[str, Any]) -> None:
    """Audit the run's summary and queue its ``reconciliation.completed`` event (uncommitted).

    ``summary`` is a ``run_summary``; its ``run_id`` names the audit subject and the event.
    """
    run_id = str(summary["run_id"])
    subject = f"reconciliation:{run_id}"
    uow.audit.append(actor=ACTOR, action=COMPLETED, subject=subject, payload=dict(summary))
    uow.outbox.add(
        BusinessEvent(
            id=f"{EventType.RECONCILIATION_COMPLETED.value}:{run_id}",
            type=EventType.RECONCILIATION_COMPLETED,
            subject=subject,
            correlation_id=subject,
            occurred_at=clock.now(),
            data=dict(summary),
        )
    )


def record_failure(
    uow: UnitOfWork, clock: Clock, *, run_id: str, error: ContractSyncError
) -> ExceptionItem:
    """Raise (or find, while one is open) the item saying scheduled runs fail with ``error``.

    One open item per error code, however many ticks fail alike; its evidence names the
    first failed run, so ``contractsync exceptions retry`` replays that run.
    """
    is_config = isinstance(error, ConfigError)
    return raise_exception(
        uow,
        clock,
        code=RUN_FAILED,
        message=f"Scheduled reconciliation {run_id} could not run: {error.message}",
        owner=OwnerRole.INTEGRATION_ADMIN,
        severity=Severity.HIGH if is_config else Severity.MEDIUM,
        remediation=f"{error.remediation} Until then every scheduled run fails alike; "
        "`contractsync reconcile` shows the same error at once.",
        evidence={
            EVIDENCE_WORKFLOW: run_id,
            "error": {"code": error.code, "kind": type(error).__name__, "message": error.message},
        },
        dedupe_key=f"reconciliation:schedule:{error.code}",
        actor=ACTOR,
    )


def describe(summary: Mapping[str, Any]) -> str:
    """One line for the log: the run, its counts and the money at risk (what is left)."""
    counts = summary["outcomes"]
    found, left = summary["money_at_risk"], summary["unhealed_money_at_risk"]
    money = ", ".join(
        f"{amount} {cur} (left {left.get(cur, '0')})" for cur, amount in found.items()
    )
    return (
        f"reconciliation {summary['run_id']}: {_count(summary['contracts'], 'contract')}, "
        f"{summary['drift']} drift ({counts['healed']} healed, {counts['exception']} raised, "
        f"{counts['reported']} reported), {_count(summary['failures'], 'system failure')}; "
        f"money at risk {money or 'none'}; {'clean' if summary['clean'] else 'drift left'}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


__all__ = [
    "COMPLETED",
    "RUN_FAILED",
    "describe",
    "record_failure",
    "record_run",
    "run_summary",
    "summarize",
]
