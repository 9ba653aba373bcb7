import pytest
from pydantic import ValidationError

from contractsync.domain.base import SCHEMA_VERSION
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.identity import ExternalRef
from contractsync.domain.tax import TaxIdentifier


def _customer(**overrides: object) -> Customer:
    data: dict[str, object] = {
        "id": "CUST-ACME",
        "legal_name": "Acme GmbH",
        "billing_country": "DE",
        "tax_ids": [{"scheme": "eu_vat", "value": "DE136695976"}],
    }
    data.update(overrides)
    return Customer.model_validate(data)


def test_a_customer_document_carries_the_schema_version():
    assert _customer().schema_version == SCHEMA_VERSION
    assert _customer().model_dump(mode="json")["schema_version"] == SCHEMA_VERSION


def test_a_document_from_another_major_schema_version_is_refused():
    with pytest.raises(ValidationError, match="not readable by this release"):
        _customer(schema_version="2.0")


def test_a_region_outside_the_billing_country_is_refused():
    with pytest.raises(ValidationError, match="US-CA is not in billing_country DE"):
        _customer(billing_region="US-CA")


def test_an_unknown_region_code_is_refused():
    with pytest.raises(ValidationError, match="ISO 3166-2"):
        _customer(billing_country="US", billing_region="US-ZZ", tax_ids=[])


def test_an_unknown_country_is_refused():
    with pytest.raises(ValidationError, match="ISO 3166-1"):
        _customer(billing_country="XX")


def test_two_numbers_of_one_scheme_for_one_country_are_refused():
    with pytest.raises(ValidationError, match="same scheme for the same country"):
        _customer(
            tax_ids=[
                {"scheme": "eu_vat", "value": "DE136695976"},
                {"scheme": "eu_vat", "value": "DE129273398"},
            ]
        )


def test_a_multinational_may_hold_vat_numbers_in_several_member_states():
    customer = _customer(
        tax_ids=[
            {"scheme": "eu_vat", "value": "DE136695976"},
            {"scheme": "eu_vat", "value": "FR40303265045"},
        ]
    )
    assert customer.vat_registration_in("FR") is not None
    assert customer.vat_registration_in("DE") is not None


@pytest.mark.parametrize(
    ("country", "scheme"),
    [
        ("DE", "eu_vat"),
        ("GR", "eu_vat"),
        ("GB", "gb_vat"),
        ("US", "us_ein"),
        ("IN", "in_gstin"),
        ("AQ", None),
    ],
)
def test_the_expected_tax_scheme_is_known_per_country(country, scheme):
    from contractsync.domain.tax import scheme_for_country

    assert scheme_for_country(country) == scheme


def test_unknown_fields_are_refused_rather_than_silently_dropped():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        _customer(nickname="acme")


def test_vat_registration_is_found_by_country():
    customer = _customer()
    assert customer.vat_registration_in("DE") == TaxIdentifier(scheme="eu_vat", value="DE136695976")
    assert customer.vat_registration_in("FR") is None


def test_a_customer_ref_is_found_by_system():
    ref = ExternalRef(system="salesforce", kind="Account", id="001xx0000001")
    customer = _customer(refs=[ref.model_dump()])
    assert customer.ref_in("salesforce") == ref
    assert customer.ref_in("tryton") is None
    assert str(ref) == "salesforce:Account:001xx0000001"


def test_external_ref_system_names_are_lowercase_slugs():
    with pytest.raises(ValidationError):
        ExternalRef(system="Sales Force", kind="Account", id="1")


def test_a_legal_entity_invoicing_day_stays_within_every_month():
    with pytest.raises(ValidationError, match="less than or equal to 28"):
        LegalEntity(
            code="US01",
            name="Example Consulting LLC",
            country="US",
            functional_currency="USD",
            erp_company="1",
            invoicing_day=31,
        )


def test_customers_are_immutable_values():
    customer = _customer()
    with pytest.raises(ValidationError):
        customer.legal_name = "Other"  # type: ignore[misc]
