import pytest

from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.tax import TaxIdentifier, TaxTreatment
from contractsync.errors import DataError
from contractsync.services.tax_treatment import (
    EU_MEMBER_STATES,
    US_STATES_TAXING_SERVICES,
    permitted_treatments,
    recommended_treatment,
)

T = TaxTreatment
B2C_EU = frozenset({T.EU_B2C_DESTINATION_VAT, T.DOMESTIC_VAT})

# One valid registration number per country, in the scheme its customers hold.
NUMBERS: dict[str, tuple[str, str]] = {
    "DE": ("eu_vat", "DE136695976"),
    "FR": ("eu_vat", "FR40303265045"),
    "NL": ("eu_vat", "NL004495445B01"),
    "IT": ("eu_vat", "IT00743110157"),
    "ES": ("eu_vat", "ESB58378431"),
    "AT": ("eu_vat", "ATU13585627"),
    "GR": ("eu_vat", "EL094259216"),
    "XI": ("eu_vat", "XI980780684"),
    "GB": ("gb_vat", "980780684"),
    "CH": ("ch_vat", "CHE-107.787.577 IVA"),
    "NO": ("no_mva", "NO995525828MVA"),
    "AU": ("au_abn", "83914571673"),
    "IN": ("in_gstin", "27AAPFU0939F1ZV"),
    "US": ("us_ein", "04-2103594"),
}


def seller(country: str) -> LegalEntity:
    return LegalEntity(
        code=f"{country}01",
        name=f"Contoso {country}",
        country=country,
        functional_currency="EUR",
        erp_company=f"{country}-CO",
    )


def buyer(
    country: str,
    *,
    region: str | None = None,
    business: bool = True,
    registered_in: tuple[str, ...] = (),
) -> Customer:
    tax_ids = tuple(TaxIdentifier(scheme=NUMBERS[c][0], value=NUMBERS[c][1]) for c in registered_in)
    return Customer(
        id=f"CUST-{country}",
        legal_name=f"Buyer in {country}",
        billing_country=country,
        billing_region=region,
        is_business=business,
        tax_ids=tax_ids,
    )


CASES = [
    # (case, seller country, buyer, permitted, recommended)
    ("domestic German B2B", "DE", buyer("DE", registered_in=("DE",)), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("domestic German consumer", "DE", buyer("DE", business=False), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("DE to FR business with FR VAT", "DE", buyer("FR", registered_in=("FR",)), {T.EU_REVERSE_CHARGE}, T.EU_REVERSE_CHARGE),
    ("FR to a Greek business holding an EL number", "FR", buyer("GR", registered_in=("GR",)), {T.EU_REVERSE_CHARGE}, T.EU_REVERSE_CHARGE),
    ("NL to an Austrian business", "NL", buyer("AT", registered_in=("AT",)), {T.EU_REVERSE_CHARGE}, T.EU_REVERSE_CHARGE),
    ("DE to a French business without a VAT number", "DE", buyer("FR"), B2C_EU, T.EU_B2C_DESTINATION_VAT),
    ("DE to a French business with only an Italian number", "DE", buyer("FR", registered_in=("IT",)), B2C_EU, T.EU_B2C_DESTINATION_VAT),
    ("DE to an Italian consumer", "DE", buyer("IT", business=False), B2C_EU, T.EU_B2C_DESTINATION_VAT),
    ("ES to a consumer in Greece", "ES", buyer("GR", business=False), B2C_EU, T.EU_B2C_DESTINATION_VAT),
    ("DE to a British business", "DE", buyer("GB", registered_in=("GB",)), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("NL to a Northern Irish business (XI is UK for services)", "NL", buyer("GB", registered_in=("XI",)), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("FR to a US business", "FR", buyer("US", region="US-NY", registered_in=("US",)), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("DE to a Swiss consumer", "DE", buyer("CH", business=False), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("domestic UK", "GB", buyer("GB", registered_in=("GB",)), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("UK to a German business", "GB", buyer("DE", registered_in=("DE",)), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("CH to Liechtenstein (one VAT area)", "CH", buyer("LI"), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("FR to Monaco (French VAT area)", "FR", buyer("MC", business=False), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("domestic Norway", "NO", buyer("NO", registered_in=("NO",)), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("domestic Australian GST", "AU", buyer("AU", registered_in=("AU",)), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("Australia to New Zealand", "AU", buyer("NZ"), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("domestic Indian GST", "IN", buyer("IN", registered_in=("IN",)), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("domestic Japan", "JP", buyer("JP"), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("domestic Singapore", "SG", buyer("SG"), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("domestic Canada", "CA", buyer("CA"), {T.DOMESTIC_VAT}, T.DOMESTIC_VAT),
    ("India to a US business", "IN", buyer("US", region="US-CA"), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("US to a Californian business", "US", buyer("US", region="US-CA"), {T.US_SALES_TAX_EXEMPT_SERVICES}, T.US_SALES_TAX_EXEMPT_SERVICES),
    ("US to a Texan consumer", "US", buyer("US", region="US-TX", business=False), {T.US_SALES_TAX_EXEMPT_SERVICES}, T.US_SALES_TAX_EXEMPT_SERVICES),
    ("US to a Hawaiian business", "US", buyer("US", region="US-HI"), {T.US_SALES_TAX}, T.US_SALES_TAX),
    ("US to a New Mexican business", "US", buyer("US", region="US-NM"), {T.US_SALES_TAX}, T.US_SALES_TAX),
    ("US to a South Dakotan business", "US", buyer("US", region="US-SD"), {T.US_SALES_TAX}, T.US_SALES_TAX),
    ("US to a West Virginian business", "US", buyer("US", region="US-WV"), {T.US_SALES_TAX}, T.US_SALES_TAX),
    ("US to a German business", "US", buyer("DE", registered_in=("DE",)), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
    ("US to a Canadian business", "US", buyer("CA"), {T.EXPORT_OUTSIDE_SCOPE}, T.EXPORT_OUTSIDE_SCOPE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("seller_country", "customer", "permitted", "recommended"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_treatments_follow_the_seller_and_buyer_jurisdictions(
    seller_country, customer, permitted, recommended
):
    assert permitted_treatments(seller(seller_country), customer) == permitted
    assert recommended_treatment(seller(seller_country), customer) is recommended


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_the_recommended_treatment_is_always_a_permitted_one(case):
    _, seller_country, customer, *_ = case
    entity = seller(seller_country)
    assert recommended_treatment(entity, customer) in permitted_treatments(entity, customer)


def test_the_member_states_are_the_27_iso_codes_with_greece_as_gr():
    assert len(EU_MEMBER_STATES) == 27
    assert "GR" in EU_MEMBER_STATES
    assert "EL" not in EU_MEMBER_STATES


def test_northern_ireland_is_not_a_member_state_for_services():
    assert "XI" not in EU_MEMBER_STATES
    assert "GB" not in EU_MEMBER_STATES


def test_the_states_taxing_professional_services_are_a_small_documented_table():
    assert {"US-HI", "US-NM", "US-SD", "US-WV"} <= US_STATES_TAXING_SERVICES
    assert "US-CA" not in US_STATES_TAXING_SERVICES


def test_a_us_buyer_without_a_state_leaves_both_us_treatments_open():
    assert permitted_treatments(seller("US"), buyer("US")) == {
        T.US_SALES_TAX,
        T.US_SALES_TAX_EXEMPT_SERVICES,
    }


def test_no_treatment_is_recommended_for_a_us_buyer_without_a_state():
    with pytest.raises(DataError, match="CUST-US has no billing_region") as info:
        recommended_treatment(seller("US"), buyer("US"))
    assert info.value.code == "tax.region_required"
    assert "billing_region" in info.value.remediation


def test_a_seller_country_without_tax_rules_permits_nothing():
    assert permitted_treatments(seller("BR"), buyer("BR")) == frozenset()


def test_no_treatment_is_recommended_where_contractsync_has_no_tax_rules():
    with pytest.raises(DataError, match="no tax rules for legal entity BR01 in BR") as info:
        recommended_treatment(seller("BR"), buyer("BR"))
    assert info.value.code == "tax.jurisdiction_unsupported"


def test_a_consumer_never_gets_the_reverse_charge_even_with_a_vat_number():
    consumer = buyer("FR", business=False, registered_in=("FR",))
    assert T.EU_REVERSE_CHARGE not in permitted_treatments(seller("DE"), consumer)
