"""Customer ⇄ Account and Opportunity → WonOpportunity, table-tested both ways on wire fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contractsync.adapters.salesforce.mapping import (
    account_from_customer,
    customer_from_account,
    won_opportunity_from,
)
from contractsync.adapters.salesforce.payloads import AccountRecord, FieldNames, OpportunityRecord
from contractsync.domain.customer import Customer
from contractsync.errors import DataError
from contractsync.ports.systems import WonOpportunity

FIXTURES = Path(__file__).parents[2] / "fixtures" / "salesforce"
NAMES = FieldNames()
PAIRS = ["de_business", "us_multi_tax", "fr_consumer", "unkeyed"]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def account(name: str, **changes: Any) -> AccountRecord:
    return AccountRecord.from_sobject(fixture(name) | changes, NAMES)


@pytest.mark.parametrize("pair", PAIRS)
def test_an_account_reads_as_its_canonical_customer(pair: str) -> None:
    expected = Customer.model_validate(fixture(f"customer_{pair}"))
    assert customer_from_account(account(f"account_{pair}"), system="salesforce") == expected


@pytest.mark.parametrize("pair", ["de_business", "us_multi_tax", "fr_consumer"])
def test_a_customer_maps_to_the_account_it_was_read_from(pair: str) -> None:
    customer = Customer.model_validate(fixture(f"customer_{pair}"))
    written = account_from_customer(customer)
    raw = fixture(f"account_{pair}")
    assert written.to_sobject(NAMES) == {
        "Name": raw["Name"],
        "BillingCountryCode": raw["BillingCountryCode"],
        "BillingStateCode": raw["BillingStateCode"],
        "Tax_Identifiers__c": raw["Tax_Identifiers__c"],
        "Is_Business__c": raw["Is_Business__c"],
    }
    assert written.external_id == raw["Canonical_Id__c"]


def test_tax_identifiers_typed_with_punctuation_are_read_in_compact_form() -> None:
    customer = customer_from_account(
        account("account_us_multi_tax", Tax_Identifiers__c=" us_ein: 04-2103594 ; "),
        system="salesforce",
    )
    assert [t.value for t in customer.tax_ids] == ["042103594"]


def test_the_write_body_carries_no_id_and_no_external_id() -> None:
    customer = Customer.model_validate(fixture("customer_de_business"))
    assert account_from_customer(customer).to_sobject(NAMES) == fixture("account_write_de_business")


def test_custom_field_names_come_from_the_settings() -> None:
    names = FieldNames(external_id="Hub_Id__c", tax_ids="VAT__c", is_business="B2B__c")
    raw = {
        "Id": "001Sm0000000009IAA",
        "Name": "X",
        "BillingCountryCode": "DE",
        "Hub_Id__c": "k",
        "VAT__c": "eu_vat:DE136695976",
        "B2B__c": False,
    }
    customer = customer_from_account(AccountRecord.from_sobject(raw, names), system="crm")
    assert (customer.id, customer.is_business, len(customer.tax_ids)) == ("k", False, 1)
    assert set(account_from_customer(customer).to_sobject(names)) >= {"VAT__c", "B2B__c"}


def test_a_closed_won_opportunity_reads_as_a_won_opportunity() -> None:
    opportunity = OpportunityRecord.from_sobject(fixture("opportunity_closed_won"), NAMES)
    won = won_opportunity_from(
        opportunity, account("account_de_business"), system="salesforce", default_currency="USD"
    )
    assert won == WonOpportunity.model_validate(fixture("won_opportunity"))


def test_an_opportunity_without_currency_uses_the_org_currency() -> None:
    raw = fixture("opportunity_closed_won") | {"CurrencyIsoCode": None, "Amount": 10}
    won = won_opportunity_from(
        OpportunityRecord.from_sobject(raw, NAMES),
        account("account_de_business"),
        system="salesforce",
        default_currency="CHF",
    )
    assert won.expected_value is not None
    assert str(won.expected_value.amount) == "10.00"
    assert won.expected_value.currency == "CHF"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"StageName": "Negotiation/Review", "IsWon": False}, "salesforce.opportunity_not_won"),
        ({"CloseDate": None}, "salesforce.opportunity_unmappable"),
        ({"CurrencyIsoCode": "XYZ"}, "salesforce.opportunity_unmappable"),
    ],
)
def test_an_opportunity_that_cannot_start_a_contract_is_a_data_error(
    changes: dict[str, Any], code: str
) -> None:
    opportunity = OpportunityRecord.from_sobject(fixture("opportunity_closed_won") | changes, NAMES)
    with pytest.raises(DataError) as caught:
        won_opportunity_from(
            opportunity, account("account_de_business"), system="salesforce", default_currency="USD"
        )
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"BillingCountryCode": None}, "salesforce.account_unmappable", "BillingCountryCode"),
        ({"BillingStateCode": "ZZZ"}, "salesforce.account_unmappable", None),
        ({"Tax_Identifiers__c": "eu_vat:DE000"}, "salesforce.tax_id_invalid", None),
        ({"Tax_Identifiers__c": "nope:1"}, "salesforce.tax_id_invalid", None),
    ],
)
def test_an_account_that_cannot_be_a_customer_is_a_data_error_naming_the_problem(
    changes: dict[str, Any], code: str, field: str | None
) -> None:
    with pytest.raises(DataError) as caught:
        customer_from_account(account("account_de_business", **changes), system="salesforce")
    assert caught.value.code == code
    if field:
        assert caught.value.detail["field"] == field


def test_a_renamed_field_is_a_data_error_naming_it_and_extra_fields_are_ignored() -> None:
    raw = fixture("account_de_business")
    raw["AccountName"] = raw.pop("Name")
    with pytest.raises(DataError) as caught:
        AccountRecord.from_sobject(raw, NAMES)
    assert caught.value.code == "salesforce.payload_invalid"
    assert caught.value.detail["fields"] == ["Name"]
    assert account("account_us_multi_tax").name == "Acme Corp"
