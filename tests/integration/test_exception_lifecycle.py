"""Exception queue use cases on SQLite and PostgreSQL: every action audited, chain intact."""

from __future__ import annotations

from sqlalchemy import Engine

from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.domain.events import EventType
from contractsync.domain.exception_item import ExceptionStatus
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.services import exception_queue as queue
from contractsync.services.audit import verify_log
from contractsync.testing.fakes import FixedClock
from contractsync.testing.storage_contract import T0


def test_an_item_raised_assigned_retried_and_resolved_leaves_an_intact_audit_trail(
    engine: Engine,
) -> None:
    clock = FixedClock(T0)
    uow = SqlUnitOfWork(engine, clock)
    with uow:
        item = queue.raise_exception(
            uow,
            clock,
            code="customer.tax_id_invalid",
            message="VAT id DE123 is not valid",
            owner=OwnerRole.FINANCE,
            severity=Severity.HIGH,
            remediation="Correct the VAT id in the CRM, then retry.",
            evidence={"workflow_id": "wf-contract-C-1"},
            contract_id="C-1",
            dedupe_key="C-1:tax_id",
        )
        uow.commit()
    with uow:
        queue.assign(uow, clock, item.id, to="dana@finance", actor="ops@firm")
        assert queue.retry(uow, clock, item.id, actor="dana@finance").id == "wf-contract-C-1"
        queue.resolve(
            uow,
            clock,
            item.id,
            actor="dana@finance",
            note="VAT id corrected",
            corrected_data={"vat_id": "DE811569869"},
        )
        uow.commit()
    with uow:
        stored = uow.exceptions.get(item.id)
        assert stored is not None
        assert stored.status is ExceptionStatus.RESOLVED
        actions = [e.action for e in uow.audit.entries()]
        assert actions == [
            "exception.raised",
            "exception.assigned",
            "exception.retried",
            "exception.resolved",
        ]
        report = verify_log(uow)
        assert report.is_intact
        assert report.checked == 4
        types = [e.event.type for e in uow.outbox.pending(limit=10)]
        assert types == [EventType.EXCEPTION_RAISED, EventType.EXCEPTION_RESOLVED]
        again = queue.raise_exception(
            uow,
            clock,
            code="customer.tax_id_invalid",
            message="VAT id DE123 is not valid",
            owner=OwnerRole.FINANCE,
            remediation="Correct it.",
            dedupe_key="C-1:tax_id",
        )
        assert again.id != item.id
