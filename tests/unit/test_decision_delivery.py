"""Telling the run waiting on an item that its owner closed it: once, after the commit, never failing."""

from __future__ import annotations

import logging

import pytest

from contractsync.domain.exception_item import ExceptionItem
from contractsync.domain.roles import OwnerRole
from contractsync.errors import TransientError
from contractsync.services import exception_queue as queue
from contractsync.services.decision_delivery import decision_for, deliver_decision
from contractsync.services.flow_decisions import waiting_evidence
from contractsync.testing.fake_operator_runs import RecordingOperatorRuns
from contractsync.testing.fakes import FixedClock, InMemoryStore, InMemoryUnitOfWork

RUN = "amendment_rollout:C-1:v2"
TOPIC = "decision C-1"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def _item(store: InMemoryStore, clock: FixedClock, *, waiting: bool = True) -> ExceptionItem:
    with InMemoryUnitOfWork(store, clock) as uow:
        item = queue.raise_exception(
            uow,
            clock,
            code="amendment.routed",
            message="C-1 v2 needs finance",
            owner=OwnerRole.FINANCE,
            remediation="Approve or reject it.",
            evidence=waiting_evidence(RUN, TOPIC) if waiting else {"workflow_id": "wf-1"},
            contract_id="C-1",
        )
        uow.commit()
    return item


def _resolve(store: InMemoryStore, clock: FixedClock, item: ExceptionItem) -> ExceptionItem:
    with InMemoryUnitOfWork(store, clock) as uow:
        resolved = queue.resolve(uow, clock, item.id, actor="cfo", note="fine")
        uow.commit()
    return resolved


def _dismiss(store: InMemoryStore, clock: FixedClock, item: ExceptionItem) -> ExceptionItem:
    with InMemoryUnitOfWork(store, clock) as uow:
        dismissed = queue.dismiss(uow, clock, item.id, actor="cfo", reason="no")
        uow.commit()
    return dismissed


def test_a_resolved_item_a_run_waits_on_becomes_one_decision_for_that_run(store, clock):
    resolved = _resolve(store, clock, _item(store, clock))

    decision = decision_for(resolved)

    assert decision is not None
    assert (decision.workflow_id, decision.topic) == (RUN, TOPIC)
    assert decision.payload == {"item_id": resolved.id, "status": "resolved"}
    assert decision.idempotency_key == f"exception:{resolved.id}:resolved"


def test_an_open_item_or_one_no_run_waits_on_is_no_decision(store, clock):
    assert decision_for(_item(store, clock)) is None
    assert decision_for(_resolve(store, clock, _item(store, clock, waiting=False))) is None


def test_a_dismissal_is_delivered_to_the_waiting_run_once_however_often_it_is_sent(store, clock):
    dismissed = _dismiss(store, clock, _item(store, clock))
    runs = RecordingOperatorRuns()

    first = deliver_decision(runs, dismissed)
    again = deliver_decision(runs, dismissed)  # a retried request, a double click

    assert first is not None
    assert first.sent
    assert again is not None
    assert again.sent
    assert runs.sends == 2
    assert [(d.workflow_id, d.topic, d.payload["status"]) for d in runs.delivered] == [
        (RUN, TOPIC, "dismissed")
    ]


def test_a_failed_send_is_logged_and_reported_but_never_raised(store, clock, caplog):
    resolved = _resolve(store, clock, _item(store, clock))
    runs = RecordingOperatorRuns()
    runs.failure = TransientError("engine database down", code="engine.database_unavailable")

    with caplog.at_level(logging.WARNING, logger="contractsync.services.decision_delivery"):
        delivery = deliver_decision(runs, resolved)

    assert delivery is not None
    assert not delivery.sent
    assert delivery.error is not None
    assert "engine database down" in delivery.error
    assert runs.delivered == []
    assert any(RUN in r.getMessage() and "next poll" in r.getMessage() for r in caplog.records)


def test_without_an_engine_the_decision_is_not_sent_and_that_is_logged(store, clock, caplog):
    resolved = _resolve(store, clock, _item(store, clock))

    with caplog.at_level(logging.WARNING, logger="contractsync.services.decision_delivery"):
        delivery = deliver_decision(None, resolved)

    assert delivery is not None
    assert not delivery.sent
    assert any("next poll" in r.getMessage() for r in caplog.records)


def test_nothing_is_sent_for_an_item_no_run_waits_on(store, clock):
    runs = RecordingOperatorRuns()

    assert (
        deliver_decision(runs, _resolve(store, clock, _item(store, clock, waiting=False))) is None
    )
    assert runs.sends == 0
