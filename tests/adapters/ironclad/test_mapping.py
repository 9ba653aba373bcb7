"""Ironclad attributes <-> canonical contract, both ways, against payload fixtures."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contractsync.adapters.ironclad.client import decode
from contractsync.adapters.ironclad.mapping import (
    attributes_from_contract,
    sourced_contract_from_workflow,
)
from contractsync.adapters.ironclad.payloads import WorkflowModel
from contractsync.adapters.samples import load_case
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer
from contractsync.errors import DataError
from contractsync.simulators.ironclad_attributes import attributes_of
from tests.adapters.ironclad.conftest import EXAMPLES

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ironclad"
KINDS = ["fixed_fee", "time_and_materials", "retainer", "subscription"]


def workflow(kind: str) -> WorkflowModel:
    return WorkflowModel.model_validate(decode((FIXTURES / f"workflow_{kind}.json").read_bytes()))


def canonical(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"contract_{kind}.json").read_text())
    return loaded


def with_attributes(kind: str, change: Any) -> WorkflowModel:
    found = workflow(kind)
    attributes = copy.deepcopy(found.attributes)
    change(attributes)
    return found.model_copy(update={"attributes": attributes})


@pytest.mark.parametrize("kind", KINDS)
def test_a_workflow_reads_as_its_canonical_contract(kind: str) -> None:
    expected = canonical(kind)
    sourced = sourced_contract_from_workflow(workflow(kind), system="ironclad")
    assert sourced.contract == Contract.model_validate(expected["contract"])
    assert sourced.customer == Customer.model_validate(expected["customer"])
    assert sourced.approved_at == datetime.fromisoformat(expected["approved_at"])


@pytest.mark.parametrize("kind", KINDS)
def test_a_canonical_contract_writes_as_the_fixture_attributes(kind: str) -> None:
    expected = canonical(kind)
    contract = Contract.model_validate(expected["contract"])
    written = attributes_from_contract(contract, Customer.model_validate(expected["customer"]))
    assert written == workflow(kind).attributes


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_sample_survives_the_simulators_attributes(path: Path) -> None:
    case = load_case(path)
    wire = json.dumps({"id": "a" * 24, "attributes": attributes_of(case.contract, case.customer)})
    read = sourced_contract_from_workflow(
        WorkflowModel.model_validate(decode(wire.encode())), system="ironclad"
    )
    assert read.customer == case.customer.model_copy(update={"refs": ()})
    expected = case.contract.model_copy(update={"status": ContractStatus.IN_REVIEW})
    assert read.contract.model_copy(update={"refs": ()}) == expected.model_copy(update={"refs": ()})


def test_amounts_stay_exact_through_json_numbers() -> None:
    wire = b'{"id": "w", "attributes": {"fee": {"currency": "EUR", "amount": 1250.1}}}'
    assert WorkflowModel.model_validate(decode(wire)).attributes["fee"]["amount"] == Decimal(
        "1250.1"
    )


REQUIRED = [
    "contractId",
    "counterpartyId",
    "counterpartyName",
    "counterpartyCountry",
    "legalEntity",
    "contractCurrency",
    "startDate",
    "endDate",
]


@pytest.mark.parametrize("attribute", REQUIRED)
def test_a_missing_attribute_is_a_data_error_naming_it(attribute: str) -> None:
    broken = with_attributes("fixed_fee", lambda a: a.pop(attribute))
    with pytest.raises(DataError) as caught:
        sourced_contract_from_workflow(broken, system="ironclad")
    assert caught.value.code == "ironclad.attribute_missing"
    assert caught.value.detail["attribute"] == attribute
    assert attribute in caught.value.message


def _set(path: list[Any], value: Any) -> Any:
    def change(attributes: dict[str, Any]) -> None:
        target: Any = attributes
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


INVALID = [
    (["milestones", 0, "dueDate"], "soon", "milestones[0].dueDate"),
    (["milestones", 0, "milestoneAmount"], "lots", "milestones[0].milestoneAmount"),
    (["milestones", 0, "milestoneAmount", "amount"], "x", "milestones[0].milestoneAmount.amount"),
    (["milestones", 0, "lineId"], "L9", "milestones[0].lineId"),
    (["milestones", 0, "acceptanceRequired"], "yes", "milestones[0].acceptanceRequired"),
    (["lineItems", 0, "billingModel"], "Barter", "lineItems[0].billingModel"),
    (["lineItems", 0, "fixedFee", "amount"], Decimal("1.234"), "lineItems[0].fixedFee"),
    (["counterpartyTaxIds", 0, "taxIdValue"], "12", "counterpartyTaxIds"),
    (["counterpartyCountry"], "XX", "counterpartyCountry"),
    (["contractVersion"], "two", "contractVersion"),
    (["contractType"], "Handshake", "contractType"),
    (["endDate"], "2024-01-01T00:00:00.000Z", "startDate"),
    (["lineItems"], {"not": "a table"}, "lineItems"),
]


@pytest.mark.parametrize(("path", "value", "attribute"), INVALID, ids=[i[2] for i in INVALID])
def test_an_invalid_attribute_is_a_data_error_naming_it(
    path: list[Any], value: Any, attribute: str
) -> None:
    broken = with_attributes("fixed_fee", _set(path, value))
    with pytest.raises(DataError) as caught:
        sourced_contract_from_workflow(broken, system="ironclad")
    assert caught.value.detail["attribute"] == attribute
    assert caught.value.detail["workflow_id"] == broken.id


STATUSES = [
    ({"step": "Create", "status": "active", "approvals": {"state": "not_started"}}, "draft"),
    (
        {"step": "Review", "status": "active", "approvals": {"state": "in_progress", "url": "u"}},
        "in_review",
    ),
    ({"step": "Sign", "status": "active", "approvals": {"state": "completed"}}, "approved"),
    ({"step": "Archive", "status": "completed", "isComplete": True}, "approved"),
    ({"step": "Review", "status": "cancelled", "isCancelled": True}, "terminated"),
]


@pytest.mark.parametrize(
    ("state", "status"), STATUSES, ids=[s[1] + str(i) for i, s in enumerate(STATUSES)]
)
def test_the_workflow_state_gives_the_contract_status(state: dict[str, Any], status: str) -> None:
    raw = json.loads((FIXTURES / "workflow_fixed_fee.json").read_text())
    raw.pop("approvals")
    found = WorkflowModel.model_validate(
        {**raw, **state, "attributes": workflow("fixed_fee").attributes}
    )
    sourced = sourced_contract_from_workflow(found, system="ironclad")
    assert sourced.contract.status == status
    assert (sourced.approved_at is not None) == (status == "approved")


def test_optional_attributes_take_their_defaults() -> None:
    def strip(attributes: dict[str, Any]) -> None:
        for key in ("contractType", "contractVersion", "counterpartyIsBusiness", "contractTitle"):
            attributes.pop(key)

    sourced = sourced_contract_from_workflow(with_attributes("fixed_fee", strip), system="ironclad")
    assert sourced.contract.kind == "sow"
    assert sourced.contract.version == 1
    assert sourced.customer.is_business is True
    assert sourced.contract.title == workflow("fixed_fee").title
