"""Which CLM version reconciliation compares: one per contract id, latest decided, not rejected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.ports.systems import SourcedContract
from contractsync.services.reconciliation_versions import (
    HubView,
    Rejection,
    Version,
    compared_version,
)
from tests.amendment_strategies import signed_contract

CUSTOMER = Customer(id="CUST-1", legal_name="Acme", billing_country="US")
ON = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(version: int, status: ContractStatus = ContractStatus.APPROVED, wf: str = "") -> Version:
    contract = signed_contract().model_copy(update={"version": version, "status": status})
    ref = ExternalRef(system="clm", kind="workflow", id=wf or f"wf-{version}-{status}")
    return ref, SourcedContract(contract=contract, customer=CUSTOMER)


def hub_at(version: int, *rejected: int) -> HubView:
    stored = signed_contract().model_copy(
        update={"version": version, "status": ContractStatus.ACTIVE}
    )
    return HubView(
        stored=stored,
        customer=CUSTOMER,
        rejections=tuple(Rejection(v, ON, "finance", "") for v in rejected),
    )


def compared(*versions: Version, hub: HubView | None = None) -> tuple[Contract, tuple[str, ...]]:
    chosen = compared_version("C-100", versions, hub or HubView())
    return chosen.sourced.contract, chosen.notes


def test_the_highest_approved_version_wins_whatever_the_listing_order() -> None:
    contract, notes = compared(at(1), at(3), at(2))
    assert (contract.version, notes) == (3, ())


def test_a_version_still_in_review_is_not_the_contract_yet() -> None:
    contract, _ = compared(at(1), at(2, ContractStatus.IN_REVIEW))
    assert contract.version == 1
    only, _ = compared(at(1, ContractStatus.DRAFT))
    assert only.version == 1  # nothing decided: the one the CLM has


def test_a_cancelled_workflow_at_the_same_version_wins() -> None:
    contract, _ = compared(at(2), at(2, ContractStatus.TERMINATED))
    assert contract.status is ContractStatus.TERMINATED


def test_rejected_change_orders_fall_back_to_the_clm_version_below_with_a_note_each() -> None:
    contract, notes = compared(at(1), at(2), at(3), hub=hub_at(1, 2, 3))
    assert contract.version == 1
    assert notes == (
        "C-100: CLM v2 was rejected by finance on 2026-03-02; compared against v1",
        "C-100: CLM v3 was rejected by finance on 2026-03-02; compared against v1",
    )


def test_a_rejection_the_hub_moved_past_no_longer_counts() -> None:
    contract, notes = compared(at(1), at(2), hub=hub_at(2, 2))
    assert (contract.version, notes) == (2, ())


def test_a_clm_that_amends_in_place_falls_back_to_the_hub_record() -> None:
    contract, notes = compared(at(2), hub=hub_at(1, 2))
    assert (contract.version, contract.status) == (1, ContractStatus.ACTIVE)
    assert notes == (
        "C-100: CLM v2 was rejected by finance on 2026-03-02; compared against the hub's v1",
    )


def test_there_is_always_a_version_to_choose_from() -> None:
    with pytest.raises(ValueError, match="no CLM version"):
        compared()
