from datetime import date

import pytest
from pydantic import ValidationError

from contractsync.domain.contract import CONTRACT_TRANSITIONS, Contract, ContractStatus
from contractsync.domain.project import Project, ProjectStatus
from contractsync.errors import IllegalTransitionError

BASE = {
    "id": "C-100",
    "title": "Cloud migration",
    "customer_id": "CUST-1",
    "legal_entity_code": "US01",
    "currency": "USD",
    "term": {"start": "2026-01-01", "end": "2026-12-31"},
}


def _line(line_id: str, **term: str) -> dict[str, object]:
    line: dict[str, object] = {
        "id": line_id,
        "description": "Retainer",
        "service_code": "SVC-RET",
        "billing": {"model": "retainer", "monthly_fee": {"amount": "1000", "currency": "USD"}},
    }
    if term:
        line["term"] = term
    return line


def test_a_contract_walks_the_happy_path_to_active():
    contract = Contract.model_validate(BASE)
    for status in (ContractStatus.IN_REVIEW, ContractStatus.APPROVED, ContractStatus.ACTIVE):
        contract = contract.transition_to(status)
    assert contract.status is ContractStatus.ACTIVE
    assert contract.is_in_force_on(date(2026, 6, 1))
    assert not contract.is_in_force_on(date(2027, 1, 1))


def test_a_draft_cannot_be_activated_without_approval():
    with pytest.raises(IllegalTransitionError) as info:
        Contract.model_validate(BASE).transition_to(ContractStatus.ACTIVE)
    assert info.value.code == "lifecycle.illegal_transition"
    assert "in_review" in info.value.detail["allowed"]


def test_nothing_leaves_terminated():
    contract = Contract.model_validate({**BASE, "status": "terminated"})
    for status in ContractStatus:
        with pytest.raises(IllegalTransitionError):
            contract.transition_to(status)


def test_an_expired_contract_can_be_renewed_into_active():
    contract = Contract.model_validate({**BASE, "status": "expired"})
    assert contract.transition_to(ContractStatus.ACTIVE).status is ContractStatus.ACTIVE


def test_every_status_has_a_transition_entry():
    assert set(CONTRACT_TRANSITIONS) == set(ContractStatus)


def test_line_ids_must_be_unique():
    with pytest.raises(ValidationError, match="line ids repeat"):
        Contract.model_validate({**BASE, "lines": [_line("L1"), _line("L1")]})


def test_a_line_running_outside_the_contract_term_is_refused():
    with pytest.raises(ValidationError, match="line L1 runs outside the contract term"):
        Contract.model_validate(
            {**BASE, "lines": [_line("L1", start="2026-06-01", end="2027-01-31")]}
        )


def test_version_numbers_start_at_one():
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Contract.model_validate({**BASE, "version": 0})


def test_payment_terms_come_from_the_clause_then_the_override_then_the_default():
    plain = Contract.model_validate(BASE)
    assert plain.payment_terms(30) == 30
    overridden = Contract.model_validate({**BASE, "payment_terms_days": 45})
    assert overridden.payment_terms(30) == 45
    clause = Contract.model_validate(
        {
            **BASE,
            "payment_terms_days": 45,
            "obligations": [{"id": "O1", "kind": "payment_terms", "days": 60, "clause": "7.2"}],
        }
    )
    assert clause.payment_terms(30) == 60


def test_an_obligation_without_its_parameter_is_refused():
    with pytest.raises(ValidationError, match="needs 'days'"):
        Contract.model_validate({**BASE, "obligations": [{"id": "O1", "kind": "payment_terms"}]})
    with pytest.raises(ValidationError, match="needs 'percent'"):
        Contract.model_validate({**BASE, "obligations": [{"id": "O2", "kind": "sla_credit"}]})


def _project() -> Project:
    return Project(id="P-1", contract_id="C-100", customer_id="CUST-1", name="Cloud migration")


def test_a_project_is_staged_until_its_contract_is_approved():
    project = _project()
    assert project.status is ProjectStatus.STAGED
    with pytest.raises(IllegalTransitionError) as info:
        project.activate(contract_approved=False)
    assert info.value.code == "project.activation_before_approval"
    assert project.activate(contract_approved=True).status is ProjectStatus.ACTIVE


def test_a_closed_project_is_reopened_only_by_moving_it_back_to_active():
    closed = _project().activate(contract_approved=True).move_to(ProjectStatus.CLOSED)
    with pytest.raises(IllegalTransitionError):
        closed.move_to(ProjectStatus.STAGED)
    assert closed.move_to(ProjectStatus.ACTIVE).status is ProjectStatus.ACTIVE
