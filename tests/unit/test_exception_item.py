from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contractsync.domain.exception_item import EXCEPTION_TRANSITIONS, ExceptionItem, ExceptionStatus
from contractsync.domain.money import Money
from contractsync.domain.roles import OwnerRole
from contractsync.errors import IllegalTransitionError

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _item() -> ExceptionItem:
    return ExceptionItem(
        id="EX-1",
        code="milestones.sum_mismatch",
        message="Milestones of line L1 add up to 9,000.00 USD, the line is 10,000.00 USD",
        owner=OwnerRole.FINANCE,
        money_at_risk=Money.of("1000", "USD"),
        sla_due=NOW + timedelta(days=2),
        contract_id="C-100",
        remediation="Correct the milestone amounts in the CLM, then retry.",
        evidence={"line": "L1"},
        created_at=NOW,
    )


def test_an_item_is_assigned_then_resolved_and_remembers_who_did_what():
    item = _item().assign("dana@finance", actor="ops@firm", at=NOW)
    item = item.resolve(actor="dana@finance", at=NOW, note="amounts corrected in CLM")
    assert item.status is ExceptionStatus.RESOLVED
    assert item.assignee == "dana@finance"
    assert [h.action for h in item.history] == ["assigned", "resolved"]
    assert item.is_closed


def test_a_dismissal_needs_a_reason():
    with pytest.raises(IllegalTransitionError, match="needs a reason"):
        _item().dismiss(actor="ops", at=NOW, reason="  ")


def test_a_closed_item_takes_no_further_action():
    dismissed = _item().dismiss(actor="ops", at=NOW, reason="duplicate of EX-0")
    with pytest.raises(IllegalTransitionError) as info:
        dismissed.retry(actor="ops", at=NOW)
    assert info.value.code == "exception.illegal_action"


def test_a_failed_retry_reopens_the_item():
    retried = _item().retry(actor="ops", at=NOW)
    assert retried.status is ExceptionStatus.RETRIED
    assert (
        retried.reopen(actor="system", at=NOW, note="still failing").status is ExceptionStatus.OPEN
    )


def test_times_must_carry_a_timezone():
    with pytest.raises(ValidationError, match="timezone"):
        ExceptionItem.model_validate(
            {**_item().model_dump(), "sla_due": datetime(2026, 11, 29, 9, 0)}
        )


def test_every_status_has_a_transition_entry():
    assert set(EXCEPTION_TRANSITIONS) == set(ExceptionStatus)


def test_an_item_round_trips_through_json():
    item = _item().assign("dana", actor="ops", at=NOW)
    assert ExceptionItem.model_validate_json(item.model_dump_json()) == item
