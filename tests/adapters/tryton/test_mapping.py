"""Pure mapping between canonical records and Tryton values, both ways, with no server."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from contractsync.adapters.tryton.mapping import (
    closed_through,
    company_domain,
    contract_document,
    contract_from_document,
    contract_from_works,
    contract_works,
    customer_from_party,
    invoice_reference,
    invoiced_milestone_ids,
    party_changes,
    party_values,
    tax_identifier,
    work_changes,
)
from contractsync.adapters.tryton.payloads import PartyRow, PartyValues, WorkRow, WorkSpec
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, Retainer
from contractsync.domain.customer import Customer
from contractsync.domain.milestone import MilestoneStatus
from contractsync.domain.money import Money
from contractsync.domain.tax import TaxIdentifier
from contractsync.errors import DataError
from tests.adapters.tryton.samples import Samples


def tax(scheme: str, value: str) -> TaxIdentifier:
    return TaxIdentifier(scheme=scheme, value=value)


# -- customers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tax_ids", "identifiers"),
    [
        ((), ()),
        ((tax("eu_vat", "DE136695976"),), (("eu_vat", "DE136695976"),)),
        ((tax("au_abn", "51824753556"),), (("au_vat", "51824753556"),)),
        ((tax("no_mva", "NO995525828MVA"),), (("no_vat", "995525828MVA"),)),
        ((tax("gb_vat", "GB980780684"),), (("gb_vat", "980780684"),)),
        ((tax("us_ein", "04-2103594"),), (("us_ein", "042103594"),)),
    ],
)
def test_a_customer_becomes_a_party_coded_by_its_canonical_id_with_trytons_identifier_types(
    tax_ids: tuple[TaxIdentifier, ...], identifiers: tuple[tuple[str, str], ...]
) -> None:
    customer = Customer(id="C-1", legal_name="Globex", billing_country="DE", tax_ids=tax_ids)
    assert party_values(customer) == PartyValues("C-1", "Globex", identifiers, "DE")


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("eu_vat", "DE136695976", tax("eu_vat", "DE136695976")),
        ("de_vat", "136695976", tax("eu_vat", "DE136695976")),
        ("de_vat", "DE136695976", tax("eu_vat", "DE136695976")),
        ("au_vat", "51 824 753 556", tax("au_abn", "51824753556")),
        ("no_vat", "995525828MVA", tax("no_mva", "NO995525828MVA")),
        ("us_ein", "04-2103594", tax("us_ein", "042103594")),
        ("", "clm:free-form", None),
        ("fr_siren", "732829320", None),
        ("eu_vat", "DE123456789", None),
    ],
)
def test_a_tryton_identifier_reads_back_as_the_canonical_tax_id_or_none_when_foreign(
    kind: str, code: str, expected: TaxIdentifier | None
) -> None:
    assert tax_identifier(kind, code) == expected


def test_a_party_read_back_is_the_customer_it_was_made_from() -> None:
    customer = Samples.customer("T1")
    values = party_values(customer)
    row = PartyRow(7, values.code, values.name, values.identifiers, ("DE",))
    assert customer_from_party(row) == customer


def test_a_party_without_code_or_country_is_no_customer() -> None:
    with pytest.raises(DataError, match="no code or no address country"):
        customer_from_party(PartyRow(7, "", "Walk-in", (), ()))


@pytest.mark.parametrize(
    ("row", "changes"),
    [
        (PartyRow(1, "C-1", "Globex", (("eu_vat", "DE136695976"),), ("DE",)), {}),
        (PartyRow(1, "C-1", "Globex", (("de_vat", "136 695 976"),), ("DE",)), {}),
        (
            PartyRow(1, "C-1", "Globex Old", (("eu_vat", "DE136695976"),), ("DE",)),
            {"name": "Globex"},
        ),
        (
            PartyRow(1, "C-1", "Globex", (("", "hand-typed"),), ("FR",)),
            {"identifiers": [["create", [{"type": "eu_vat", "code": "DE136695976"}]]]},
        ),
    ],
)
def test_party_changes_rename_and_add_missing_identifiers_but_keep_hand_added_ones(
    row: PartyRow, changes: dict[str, Any]
) -> None:
    wanted = PartyValues("C-1", "Globex", (("eu_vat", "DE136695976"),), "DE")
    assert party_changes(wanted, row) == changes


def test_a_legal_entity_is_found_by_its_company_party_code_or_company_id() -> None:
    entity = Samples.entity
    assert company_domain(entity) == [("party.code", "=", "contractsync-company")]
    by_id = entity.model_copy(update={"erp_company": "3"})
    assert company_domain(by_id) == ["OR", ("party.code", "=", "3"), ("id", "=", 3)]


# -- contracts -------------------------------------------------------------------------


def test_a_contract_becomes_a_project_with_a_task_per_milestone_and_a_tm_sub_project() -> None:
    contract = Samples.contract("T1")
    project = contract_works(contract, name="Delivery")
    assert (project.key, project.name, project.type) == (
        "contractsync:project:K-T1",
        "Delivery",
        "project",
    )
    assert project.invoice_method == "effort"
    assert project.timesheet_dates == (date(2026, 1, 1), date(2026, 12, 31))
    m1, m2, support = project.children
    assert (m1.key, m1.name, m1.type, m1.list_price) == (
        "contractsync:task:M1",
        "Kick-off",
        "task",
        Decimal("5000.00"),
    )
    assert m2.list_price == Decimal("15000.00")
    assert m1.product is not None
    assert (m1.product.code, m1.product.uom) == ("IMPL", "u")
    assert (support.key, support.type, support.invoice_method) == (
        "contractsync:line:L2",
        "project",
        "timesheet",
    )
    # Tryton's own button must never bill these hours: the hub bills T&M periods itself.
    assert support.invoice_up_to == date(2025, 12, 31)
    roles = {(t.key, t.list_price) for t in support.children}
    assert roles == {
        ("contractsync:role:L2/Consultant", Decimal("120.00")),
        ("contractsync:role:L2/Architect", Decimal("180.00")),
    }
    assert {t.product.code for t in support.children if t.product} == {"SUPPORT-h"}


def test_a_new_project_is_named_after_the_contract_and_retainers_have_no_work() -> None:
    retainer = ContractLine(
        id="L9",
        description="Retainer",
        service_code="RET",
        billing=Retainer(monthly_fee=Money.of("1000", "EUR")),
    )
    contract = Samples.contract("T1", with_tm=False)
    contract = contract.model_copy(update={"lines": (*contract.lines, retainer)})
    project = contract_works(contract)
    assert project.name == "SOW T1"
    assert [c.key for c in project.children] == ["contractsync:task:M1", "contractsync:task:M2"]


def fee_of(contract: Contract, line_id: str = "L1") -> FixedFee:
    line = contract.line(line_id)
    assert line is not None
    assert isinstance(line.billing, FixedFee)
    return line.billing


def rows_of(spec: WorkSpec, *, party: str = "CUST-T1") -> tuple[WorkRow, list[WorkRow]]:
    """The rows Tryton would hold right after creating ``spec`` (ids in creation order)."""
    rows: list[WorkRow] = []

    def add(node: WorkSpec, parent: int | None) -> None:
        row = WorkRow(
            id=len(rows) + 1,
            key=node.key,
            name=node.name,
            type=node.type,
            parent=parent,
            list_price=node.list_price,
            party_code=party,
            timesheet_dates=node.timesheet_dates,
        )
        rows.append(row)
        for child in node.children:
            add(child, row.id)

    add(spec, None)
    return rows[0], rows[1:]


def test_a_project_read_back_untouched_is_the_contract_pushed() -> None:
    contract = Samples.contract("T1")
    project, works = rows_of(contract_works(contract))
    assert contract_from_works(contract, project, works) == contract
    assert invoiced_milestone_ids(works) == frozenset()


def edit(works: list[WorkRow], key: str, **changes: Any) -> list[WorkRow]:
    return [w.__class__(**{**w.__dict__, **changes}) if w.key == key else w for w in works]


def test_a_milestone_price_edited_in_tryton_changes_the_milestone_and_the_fee() -> None:
    contract = Samples.contract("T1")
    project, works = rows_of(contract_works(contract))
    works = edit(works, "contractsync:task:M2", list_price=Decimal("17500.0000"), name="Live")
    fee = fee_of(contract_from_works(contract, project, works))
    assert [(m.name, m.amount) for m in fee.milestones] == [
        ("Kick-off", Money.of("5000", "EUR")),
        ("Live", Money.of("17500", "EUR")),
    ]
    assert fee.amount == Money.of("22500", "EUR")


def test_a_milestone_task_deleted_in_tryton_is_a_milestone_the_erp_no_longer_has() -> None:
    contract = Samples.contract("T1")
    project, works = rows_of(contract_works(contract))
    works = [w for w in works if w.key != "contractsync:task:M1"]
    fee = fee_of(contract_from_works(contract, project, works))
    assert [m.id for m in fee.milestones] == ["M2"]
    assert fee.amount == Money.of("15000", "EUR")


def test_the_party_and_term_edited_in_tryton_are_the_contracts_customer_and_term() -> None:
    contract = Samples.contract("T1")
    project, works = rows_of(contract_works(contract), party="CUST-OTHER")
    project = WorkRow(
        **{**project.__dict__, "timesheet_dates": (date(2026, 1, 1), date(2027, 3, 31))}
    )
    held = contract_from_works(contract, project, works)
    assert held.customer_id == "CUST-OTHER"
    assert (held.term.start, held.term.end) == (date(2026, 1, 1), date(2027, 3, 31))


def test_an_invoiced_task_is_an_invoiced_milestone() -> None:
    contract = Samples.contract("T1")
    project, works = rows_of(contract_works(contract))
    works = edit(works, "contractsync:task:M1", invoice_line=41)
    assert invoiced_milestone_ids(works) == frozenset({"M1"})
    fee = fee_of(contract_from_works(contract, project, works))
    assert [m.status for m in fee.milestones] == [
        MilestoneStatus.INVOICED,
        MilestoneStatus.PLANNED,
    ]


def test_a_term_edited_in_tryton_into_an_invalid_contract_is_a_data_error() -> None:
    contract = Samples.contract("T1")
    retainer = ContractLine(
        id="L9",
        description="Retainer",
        service_code="RET",
        term=contract.term,
        billing=Retainer(monthly_fee=Money.of("1000", "EUR")),
    )
    contract = contract.model_copy(update={"lines": (*contract.lines, retainer)})
    project, works = rows_of(contract_works(contract))
    short = (date(2026, 1, 1), date(2026, 6, 30))
    project = WorkRow(**{**project.__dict__, "timesheet_dates": short})
    with pytest.raises(DataError, match="no longer valid"):
        contract_from_works(contract, project, works)


@pytest.mark.parametrize(
    ("row_changes", "expected"),
    [
        ({}, {}),
        ({"name": "Old"}, {"name": "Kick-off"}),
        ({"list_price": Decimal("4000")}, {"list_price": Decimal("5000.00")}),
        ({"list_price": Decimal("4000"), "invoice_line": 9}, {}),
    ],
)
def test_work_changes_rename_and_reprice_but_never_reprice_an_invoiced_work(
    row_changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    spec = contract_works(Samples.contract("T1")).children[0]
    row = WorkRow(
        **{
            "id": 5,
            "key": spec.key,
            "name": spec.name,
            "type": "task",
            "list_price": spec.list_price,
            **row_changes,
        }
    )
    assert work_changes(spec, row) == expected


def test_work_changes_move_the_projects_timesheet_dates_with_the_term() -> None:
    spec = contract_works(Samples.contract("T1"))
    old = WorkRow(
        5, spec.key, spec.name, "project", timesheet_dates=(date(2026, 1, 1), date(2026, 6, 30))
    )
    assert work_changes(spec, old) == {
        "timesheet_start_date": date(2026, 1, 1),
        "timesheet_end_date": date(2026, 12, 31),
    }


# -- invoices, periods and the stored copy ---------------------------------------------


def test_the_invoice_reference_names_the_contract_and_the_key() -> None:
    assert invoice_reference("K-1", "M1") == "contractsync:invoice:K-1/M1"


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ([], None),
        ([{"state": "open", "end_date": date(2026, 1, 31)}], None),
        (
            [
                {"state": "closed", "end_date": date(2026, 1, 31)},
                {"state": "closed", "end_date": date(2026, 2, 28)},
                {"state": "open", "end_date": date(2026, 3, 31)},
            ],
            date(2026, 2, 28),
        ),
    ],
)
def test_closed_through_is_the_end_of_the_latest_closed_period(
    periods: list[dict[str, Any]], expected: date | None
) -> None:
    assert closed_through(periods) == expected


def test_the_stored_contract_reads_back_equal_and_a_broken_one_is_a_data_error() -> None:
    contract: Contract = Samples.contract("T1")
    assert contract_from_document(contract_document(contract)) == contract
    with pytest.raises(DataError):
        contract_from_document(b'{"id": "edited by hand"}')
