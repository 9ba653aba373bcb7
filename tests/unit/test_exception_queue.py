"""Exception queue use cases on the in-memory unit of work: SLA, lifecycle, audit and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contractsync.domain.events import EventType
from contractsync.domain.exception_item import ExceptionStatus
from contractsync.domain.money import Money
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import DomainError, IllegalTransitionError
from contractsync.services import exception_queue as queue
from contractsync.services.audit import verify_log
from contractsync.testing.fakes import FixedClock, InMemoryStore, InMemoryUnitOfWork

TUESDAY = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
FRIDAY = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY)


@pytest.fixture
def uow(clock: FixedClock) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(InMemoryStore(), clock)


def _raise(uow: InMemoryUnitOfWork, clock: FixedClock, **extra: object) -> str:
    values: dict[str, object] = {
        "code": "milestones.sum_mismatch",
        "message": "Milestones add up to 9,000.00 USD, the line is 10,000.00 USD",
        "owner": OwnerRole.FINANCE,
        "severity": Severity.HIGH,
        "remediation": "Correct the milestone amounts in the CLM, then retry.",
        "evidence": {"inbox_message_id": "msg-1"},
        "contract_id": "C-100",
        "money_at_risk": Money.of("1000", "USD"),
    }
    with uow:
        item = queue.raise_exception(uow, clock, **(values | extra))  # type: ignore[arg-type]
        uow.commit()
    return item.id


@pytest.mark.parametrize(
    ("severity", "raised", "due"),
    [
        (Severity.CRITICAL, TUESDAY, TUESDAY + timedelta(hours=4)),
        (Severity.HIGH, TUESDAY, TUESDAY + timedelta(days=1)),
        (Severity.HIGH, FRIDAY, FRIDAY + timedelta(days=3)),
        (Severity.HIGH, FRIDAY + timedelta(days=1), FRIDAY + timedelta(days=3)),
        (Severity.MEDIUM, FRIDAY, FRIDAY + timedelta(days=3)),
        (Severity.LOW, TUESDAY, TUESDAY + timedelta(days=10)),
    ],
)
def test_the_sla_due_time_follows_the_severity(
    severity: Severity, raised: datetime, due: datetime
) -> None:
    assert queue.sla_due(severity, raised) == due


def test_raising_an_item_stores_it_with_an_audit_entry_and_a_raised_event(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    item_id = _raise(uow, clock, severity=Severity.CRITICAL)
    with uow:
        item = uow.exceptions.get(item_id)
        assert item is not None
        assert item.status is ExceptionStatus.OPEN
        assert item.sla_due == TUESDAY + timedelta(hours=4)
        [entry] = uow.audit.entries()
        assert (entry.action, entry.subject) == ("exception.raised", f"exception:{item_id}")
        assert entry.payload["to"] == "open"
        [pending] = uow.outbox.pending(limit=10)
        assert pending.event.type is EventType.EXCEPTION_RAISED
        assert pending.event.correlation_id == "C-100"
        assert pending.event.data["money_at_risk"] == {"amount": "1000.00", "currency": "USD"}


def test_nothing_is_raised_unless_the_caller_commits(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    with uow:
        queue.raise_exception(
            uow,
            clock,
            code="data.missing_field",
            message="m",
            owner=OwnerRole.LEGAL,
            remediation="r",
        )
    with uow:
        assert uow.exceptions.list() == []
        assert uow.audit.entries() == []
        assert uow.outbox.pending(limit=10) == []


def test_raising_the_same_problem_twice_returns_the_open_item_and_writes_nothing_more(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    first = _raise(uow, clock, dedupe_key="C-100:milestones")
    second = _raise(uow, clock, dedupe_key="C-100:milestones")
    assert second == first
    with uow:
        assert len(uow.exceptions.list()) == 1
        assert len(uow.audit.entries()) == 1
        assert len(uow.outbox.pending(limit=10)) == 1


def test_an_item_goes_through_its_lifecycle_and_every_action_is_audited(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    item_id = _raise(uow, clock)
    with uow:
        queue.assign(uow, clock, item_id, to="dana@finance", actor="ops@firm")
        rerun = queue.retry(uow, clock, item_id, actor="dana@finance")
        queue.reopen(uow, clock, item_id, actor="contractsync", note="still 9,000.00 USD")
        done = queue.resolve(
            uow,
            clock,
            item_id,
            actor="dana@finance",
            note="fixed in CLM",
            corrected_data={"milestones": [{"id": "M1", "amount": "10000.00"}]},
        )
        uow.commit()
    assert rerun == queue.Rerun(kind="inbox_message", id="msg-1")
    assert done.status is ExceptionStatus.RESOLVED
    assert done.evidence["corrected_data"]["milestones"][0]["amount"] == "10000.00"
    with uow:
        entries = uow.audit.entries()
        assert [e.action for e in entries] == [
            "exception.raised",
            "exception.assigned",
            "exception.retried",
            "exception.reopened",
            "exception.resolved",
        ]
        assert [(e.payload["from"], e.payload["to"]) for e in entries[1:]] == [
            ("open", "assigned"),
            ("assigned", "retried"),
            ("retried", "open"),
            ("open", "resolved"),
        ]
        assert {e.actor for e in entries} == {"contractsync", "ops@firm", "dana@finance"}
        assert verify_log(uow).is_intact
        events = uow.outbox.pending(limit=10)
        assert [e.event.type for e in events] == [
            EventType.EXCEPTION_RAISED,
            EventType.EXCEPTION_RESOLVED,
        ]
        assert events[1].event.data["outcome"] == "resolved"
        assert events[1].event.data["corrected_data"] == done.evidence["corrected_data"]


def test_a_retry_prefers_the_workflow_named_in_the_evidence(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    item_id = _raise(uow, clock, evidence={"inbox_message_id": "msg-1", "workflow_id": "wf-7"})
    with uow:
        assert queue.retry(uow, clock, item_id, actor="ops") == queue.Rerun("workflow", "wf-7")


def test_a_retry_without_anything_to_run_again_is_refused_and_changes_nothing(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    item_id = _raise(uow, clock, evidence={"line": "L1"})
    with uow:
        with pytest.raises(DomainError) as info:
            queue.retry(uow, clock, item_id, actor="ops")
        assert info.value.code == "exception.nothing_to_retry"
        item = uow.exceptions.get(item_id)
        assert item is not None
        assert item.status is ExceptionStatus.OPEN
        assert len(uow.audit.entries()) == 1


def test_dismissing_needs_a_reason_and_announces_the_item_closed(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    item_id = _raise(uow, clock)
    with uow:
        with pytest.raises(IllegalTransitionError):
            queue.dismiss(uow, clock, item_id, actor="ops", reason=" ")
        queue.dismiss(uow, clock, item_id, actor="ops", reason="duplicate of EX-0")
        uow.commit()
    with uow:
        closing = uow.outbox.pending(limit=10)[-1].event
        assert closing.type is EventType.EXCEPTION_RESOLVED
        assert (closing.data["outcome"], closing.data["note"]) == ("dismissed", "duplicate of EX-0")
        assert uow.audit.entries()[-1].payload["reason"] == "duplicate of EX-0"


def test_a_closed_item_refuses_further_actions_without_writing_anything(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    item_id = _raise(uow, clock)
    with uow:
        queue.resolve(uow, clock, item_id, actor="ops", note="fixed")
        uow.commit()
    with uow:
        with pytest.raises(IllegalTransitionError):
            queue.assign(uow, clock, item_id, to="sam", actor="ops")
        assert len(uow.audit.entries()) == 2


def test_an_unknown_item_is_named_with_what_to_do_next(
    uow: InMemoryUnitOfWork, clock: FixedClock
) -> None:
    with uow, pytest.raises(DomainError) as info:
        queue.assign(uow, clock, "EX-NOPE", to="dana", actor="ops")
    assert info.value.code == "exception.not_found"
    assert "exceptions list" in info.value.remediation
