"""A scheduled run's record: its summary audited and announced once, or its failure as an item."""

from __future__ import annotations

from datetime import UTC, datetime

from contractsync.domain.events import EventType
from contractsync.domain.exception_item import ExceptionItem
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import ConfigError, TransientError
from contractsync.services.scheduled_reconciliation import (
    COMPLETED,
    RUN_FAILED,
    describe,
    record_failure,
    record_run,
    run_summary,
    summarize,
)
from tests.unit.test_reconciliation_run import REPRICE, Hub

TICK = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
RUN = "sched-reconciliation-2026-01-05T02:00:00+00:00"


def drifting() -> Hub:
    hub = Hub("C-1", "C-2")
    hub.edit_erp("C-1", REPRICE)
    hub.drop_psa_milestone("C-2", "M1")
    return hub


def test_the_summary_counts_drift_by_outcome_and_kind_with_the_money_left_at_risk() -> None:
    report = drifting().reconcile()
    assert summarize(report) == {
        "contracts": 2,
        "drift": 2,
        "outcomes": {"healed": 1, "exception": 1, "reported": 0},
        "failures": 0,
        "money_at_risk": {"USD": "13500.00"},
        "unhealed_money_at_risk": {"USD": "3500.00"},
        "counts_by_kind": {"milestone_mismatch": 2},
        "clean": False,
    }


def test_a_run_summary_names_the_run_its_tick_its_systems_and_what_was_not_compared() -> None:
    report = Hub("C-1").reconcile()
    summary = run_summary(report, run_id=RUN, scheduled_at=TICK, not_compared=("CRM: none",))
    assert summary["run_id"] == RUN
    assert summary["scheduled_at"] == "2026-01-05T02:00:00+00:00"
    assert summary["systems"] == {"clm": "clm", "erp": "erp", "psa": "psa", "crm": "crm"}
    assert summary["healing"] is True
    assert summary["clean"] is True
    assert summary["notes"] == []  # no CLM version the hub rejected
    assert summary["not_compared"] == ["CRM: none"]
    assert summary["started_at"] <= summary["finished_at"]


def test_recording_a_run_audits_its_summary_and_announces_it_once() -> None:
    hub = drifting()
    summary = run_summary(hub.reconcile(), run_id=RUN, scheduled_at=TICK)
    for _ in range(2):  # the step run again after a crash
        with hub.uow() as uow:
            record_run(uow, hub.clock, summary)
            uow.commit()
    with hub.uow() as uow:
        audited = [e for e in uow.audit.entries() if e.action == COMPLETED]
        events = [
            e.event for e in uow.outbox.pending(limit=1000) if e.event.type.value == COMPLETED
        ]
    assert audited[0].subject == f"reconciliation:{RUN}"
    assert audited[0].payload == summary
    (event,) = events
    assert event.type is EventType.RECONCILIATION_COMPLETED
    assert event.id == f"reconciliation.completed:{RUN}"
    assert (event.subject, event.correlation_id) == (f"reconciliation:{RUN}",) * 2
    assert event.data["unhealed_money_at_risk"] == {"USD": "3500.00"}


def test_a_run_that_cannot_reconcile_raises_one_item_for_the_integration_admin() -> None:
    hub = Hub()
    error = ConfigError(
        "reconciliation needs a CLM under systems",
        code="config.reconciliation_incomplete",
        remediation="Configure systems with vendor ironclad.",
    )
    items: list[ExceptionItem] = []
    for run in (RUN, "sched-reconciliation-2026-01-06T02:00:00+00:00"):
        with hub.uow() as uow:
            items.append(record_failure(uow, hub.clock, run_id=run, error=error))
            uow.commit()
    first, second = items
    assert second.id == first.id  # every tick failing alike: one open item
    assert (first.code, first.owner, first.severity) == (
        RUN_FAILED,
        OwnerRole.INTEGRATION_ADMIN,
        Severity.HIGH,
    )
    assert first.evidence["workflow_id"] == RUN  # a retry replays that run
    assert first.evidence["error"]["code"] == "config.reconciliation_incomplete"
    assert first.remediation.startswith("Configure systems with vendor ironclad.")
    assert "reconciliation needs a CLM" in first.message


def test_a_failure_that_is_not_the_settings_is_of_medium_severity() -> None:
    hub = Hub()
    with hub.uow() as uow:
        item = record_failure(uow, hub.clock, run_id=RUN, error=TransientError("db restarting"))
    assert item.severity is Severity.MEDIUM


def test_the_log_line_gives_counts_and_money_left_at_risk() -> None:
    summary = run_summary(drifting().reconcile(), run_id=RUN, scheduled_at=TICK)
    assert describe(summary) == (
        f"reconciliation {RUN}: 2 contracts, 2 drift (1 healed, 1 raised, 0 reported), "
        "0 system failures; money at risk 13500.00 USD (left 3500.00); drift left"
    )
    clean = run_summary(Hub("C-1").reconcile(), run_id=RUN, scheduled_at=TICK)
    assert describe(clean).endswith("money at risk none; clean")
