"""Canonical ⇄ NetSuite records, table-tested both ways on wire fixtures."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contractsync.adapters.netsuite.config import NetSuiteFieldNames
from contractsync.adapters.netsuite.mapping import (
    billing_schedule_body,
    canonical_id,
    closed_job_body,
    closed_through,
    contract_from_order,
    customer_body,
    customer_from_record,
    external_id,
    invoice_body,
    invoiced_milestone_ids,
    is_closed_job,
    sales_order_body,
)
from contractsync.adapters.netsuite.payloads import (
    AccountingPeriod,
    BillingScheduleRecord,
    CustomerRecord,
    InvoiceRecord,
    JobRecord,
    SalesOrderRecord,
)
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.money import Money
from contractsync.domain.schedules import BillingSchedule
from contractsync.errors import DataError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "netsuite"
NAMES = NetSuiteFieldNames()
CUSTOMERS = {"de_business": ("2", "4"), "us_consumer": ("2", "1")}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (("CUST-1",), "CUST-1"),
        (("cust-globex.de",), "cust-globex_2Ede"),
        (("a:b_c",), "a_3Ab_5Fc"),
        (("K-1", "M1"), "K-1__M1"),
        (("K-1", "L2:2026-01-01"), "K-1__L2_3A2026-01-01"),
    ],
)
def test_external_ids_keep_only_netsuites_characters_and_never_collide(
    key: tuple[str, ...], expected: str
) -> None:
    assert external_id(*key) == expected
    assert len(key) > 1 or canonical_id(expected) == key[0]


def test_joined_keys_stay_distinct_where_plain_joining_would_collide() -> None:
    assert external_id("K-1_", "M") != external_id("K-1", "_M")
    assert external_id("A", "B-C") != external_id("A-B", "C")


@pytest.mark.parametrize("name", CUSTOMERS)
def test_a_customer_maps_to_its_netsuite_body(name: str) -> None:
    customer = Customer.model_validate(fixture(f"customer_{name}"))
    subsidiary, currency = CUSTOMERS[name]
    body = customer_body(customer, subsidiary_id=subsidiary, currency_id=currency, names=NAMES)
    assert body == fixture(f"customer_{name}_body")


@pytest.mark.parametrize("name", CUSTOMERS)
def test_a_netsuite_customer_reads_as_its_canonical_customer(name: str) -> None:
    record = CustomerRecord.from_wire(fixture(f"customer_{name}_record"), NAMES)
    expected = Customer.model_validate(fixture(f"customer_{name}"))
    assert customer_from_record(record, system="netsuite") == expected


def test_a_customer_without_an_address_is_a_data_error_naming_it() -> None:
    raw = fixture("customer_de_business_record") | {"addressBook": {"items": []}}
    with pytest.raises(DataError) as caught:
        customer_from_record(CustomerRecord.from_wire(raw, NAMES), system="netsuite")
    assert caught.value.code == "netsuite.customer_unmappable"


def test_a_contract_and_its_schedule_map_to_the_schedule_and_sales_order_bodies() -> None:
    contract = Contract.model_validate(fixture("contract_k1"))
    schedule = BillingSchedule.model_validate(fixture("schedule_k1"))
    assert billing_schedule_body(contract, schedule, names=NAMES) == fixture(
        "billing_schedule_k1_body"
    )
    order = sales_order_body(
        contract,
        schedule,
        customer_id="100",
        job_id="102",
        schedule_id="103",
        currency_id="4",
        item_for=lambda code: {"IMPL": "10"}.get(code, "11"),
        names=NAMES,
    )
    assert Contract.model_validate_json(order.pop(NAMES.order_basis)) == contract
    expected = fixture("sales_order_k1_body")
    expected.pop(NAMES.order_basis)
    assert order == expected


def test_an_invoice_body_bills_one_line_of_the_order() -> None:
    body = invoice_body(
        "K-k1",
        "M1",
        Money.of("5000", "EUR"),
        order_id="105",
        customer_id="102",
        currency_id="4",
        item_id="10",
        day=dt.date(2026, 1, 31),
        names=NAMES,
    )
    assert body == fixture("invoice_k1_m1_body")


def order_and_schedule(**edits: Any) -> tuple[SalesOrderRecord, BillingScheduleRecord]:
    order = fixture("sales_order_k1_record") | edits
    return (
        SalesOrderRecord.from_wire(order, NAMES),
        BillingScheduleRecord.from_wire(fixture("billing_schedule_k1_record"), NAMES),
    )


def test_the_sales_order_reads_back_as_the_contract_pushed() -> None:
    order, schedule = order_and_schedule()
    assert contract_from_order(order, schedule) == Contract.model_validate(fixture("contract_k1"))


def test_hand_edits_in_netsuite_show_in_the_contract_read_back() -> None:
    raw = fixture("sales_order_k1_record")
    raw["item"]["items"][0]["amount"] = 22000.0
    order, schedule = order_and_schedule(
        memo="SOW k1 (edited)", endDate="2027-03-31", item=raw["item"]
    )
    contract = contract_from_order(order, schedule)
    assert contract.title == "SOW k1 (edited)"
    assert contract.term.end == dt.date(2027, 3, 31)
    assert contract.lines[0].billing.amount.amount == Decimal("22000.00")  # type: ignore[union-attr]


def test_an_order_without_the_pushed_contract_is_a_data_error() -> None:
    order, schedule = order_and_schedule(custbody_cs_contract=None)
    with pytest.raises(DataError) as caught:
        contract_from_order(order, schedule)
    assert caught.value.code == "netsuite.contract_unreadable"


def test_invoiced_milestones_and_closed_periods_are_read_from_records() -> None:
    contract = Contract.model_validate(fixture("contract_k1"))
    invoices = [
        InvoiceRecord.from_wire({"id": "1", "custbody_cs_invoice_key": "M1"}, NAMES),
        InvoiceRecord.from_wire({"id": "2", "custbody_cs_invoice_key": "L2:2026-01-01"}, NAMES),
    ]
    assert invoiced_milestone_ids(contract, invoices) == {"M1"}
    periods = [
        AccountingPeriod.model_validate({"id": "1", "endDate": "2026-01-31", "closed": True}),
        AccountingPeriod.model_validate({"id": "2", "endDate": "2026-02-28", "closed": True}),
        AccountingPeriod.model_validate({"id": "3", "endDate": "2026-03-31", "closed": False}),
    ]
    assert closed_through(periods) == dt.date(2026, 2, 28)
    assert closed_through(periods[2:]) is None


@pytest.mark.parametrize(
    ("status", "closed"),
    [
        ({"id": "1", "refName": "Closed"}, True),
        ({"id": "2", "refName": "In Progress"}, False),
        (None, False),
    ],
)
def test_a_job_is_closed_when_its_status_is_the_accounts_closed_one(
    status: dict[str, str] | None, closed: bool
) -> None:
    job = JobRecord.from_wire({"id": "120", "companyName": "Delivery", "entityStatus": status})
    assert is_closed_job(job, "1") is closed
    assert closed_job_body("1") == {"entityStatus": {"id": "1"}}
