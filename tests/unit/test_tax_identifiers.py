import pytest
from pydantic import ValidationError

from contractsync.domain.tax import TAX_ID_SCHEMES, TaxIdentifier


@pytest.mark.parametrize(
    ("scheme", "given", "stored", "country"),
    [
        ("eu_vat", "DE 136 695 976", "DE136695976", "DE"),
        ("eu_vat", "FR40303265045", "FR40303265045", "FR"),
        ("eu_vat", "EL094259216", "EL094259216", "GR"),
        ("gb_vat", "GB 980 7806 84", "980780684", "GB"),
        ("us_ein", "04-2103594", "042103594", "US"),
        ("au_abn", "83 914 571 673", "83914571673", "AU"),
        ("in_gstin", "27AAPFU0939F1ZV", "27AAPFU0939F1ZV", "IN"),
    ],
)
def test_valid_numbers_are_stored_compact_with_their_country(scheme, given, stored, country):
    tax_id = TaxIdentifier(scheme=scheme, value=given)
    assert tax_id.value == stored
    assert tax_id.country == country


@pytest.mark.parametrize(
    ("scheme", "value"),
    [
        ("eu_vat", "DE136695977"),  # wrong check digit
        ("eu_vat", "US136695976"),  # not an EU prefix
        ("gb_vat", "980780685"),
        ("us_ein", "00-0000000"),
        ("au_abn", "83914571674"),
        ("in_gstin", "27AAPFU0939F1ZX"),
    ],
)
def test_invalid_numbers_are_refused_with_the_scheme_named(scheme, value):
    with pytest.raises(ValidationError, match=f"not a valid {scheme} number"):
        TaxIdentifier(scheme=scheme, value=value)


def test_an_unknown_scheme_is_refused_and_the_known_ones_listed():
    with pytest.raises(ValidationError, match="unknown tax identifier scheme 'xx_tax'") as info:
        TaxIdentifier(scheme="xx_tax", value="123")
    assert "eu_vat" in str(info.value)


def test_vat_registration_is_told_apart_from_other_identifiers():
    assert TaxIdentifier(scheme="eu_vat", value="DE136695976").proves_vat_registration
    assert not TaxIdentifier(scheme="us_ein", value="04-2103594").proves_vat_registration


def test_every_scheme_names_a_python_stdnum_module():
    assert len(TAX_ID_SCHEMES) >= 10
    for scheme in TAX_ID_SCHEMES:
        with pytest.raises(ValidationError):
            TaxIdentifier(scheme=scheme, value="not-a-number")
