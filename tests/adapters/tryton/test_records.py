from decimal import Decimal

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.domain.tax import TaxIdentifier


def test_ensure_party_twice_creates_one_party_with_its_vat_number_and_address(
    records: TrytonRecords, client: TrytonClient, tag: str
) -> None:
    vat = TaxIdentifier(scheme="eu_vat", value="DE136695976")
    first = records.ensure_party(f"CUST-{tag}", "Globex GmbH", [vat], "DE")
    second = records.ensure_party(f"CUST-{tag}", "Globex GmbH", [vat], "DE")
    assert first == second
    assert client.search_count("party.party", [("code", "=", f"CUST-{tag}")]) == 1
    party = client.read("party.party", [first], ["tax_identifier.code", "addresses.country.code"])
    assert party[0]["tax_identifier."]["code"] == "DE136695976"
    assert party[0]["addresses."][0]["country."]["code"] == "DE"


def test_ensure_party_maps_renamed_schemes_to_trytons_vat_types(
    records: TrytonRecords, client: TrytonClient, tag: str
) -> None:
    abn = TaxIdentifier(scheme="au_abn", value="51824753556")
    party = records.ensure_party(f"AU-{tag}", "Initech Pty", [abn], "AU")
    rows = client.search_read("party.identifier", [("party", "=", party)], ["type", "code"])
    # Tryton stores the number in its display format ("51 824 753 556").
    assert [(r["type"], r["code"].replace(" ", "")) for r in rows] == [("au_vat", "51824753556")]


def test_ensure_country_twice_creates_one_country(
    records: TrytonRecords, client: TrytonClient
) -> None:
    assert records.ensure_country("NZ") == records.ensure_country("nz")
    assert client.search_count("country.country", [("code", "=", "NZ")]) == 1


def test_ensure_product_twice_creates_one_service_product_in_the_given_unit(
    records: TrytonRecords, client: TrytonClient, tag: str
) -> None:
    first = records.ensure_product(f"HOUR-{tag}", "Consulting hour", "h", Decimal("120"))
    assert records.ensure_product(f"HOUR-{tag}", "Consulting hour", "h", Decimal("120")) == first
    assert client.search_count("product.product", [("code", "=", f"HOUR-{tag}")]) == 1
    row = client.read(
        "product.product", [first], ["default_uom.symbol", "type", "list_price_used"]
    )[0]
    assert row["default_uom."]["symbol"] == "h"
    assert row["type"] == "service"
    assert row["list_price_used"] == Decimal("120")


def test_ensure_employee_twice_creates_one_employee_of_the_company(
    records: TrytonRecords, client: TrytonClient, tag: str
) -> None:
    first = records.ensure_employee(f"EMP-{tag}", "Ada Consultant", Decimal("60"))
    assert records.ensure_employee(f"EMP-{tag}", "Ada Consultant", Decimal("60")) == first
    assert client.search_count("company.employee", [("party.code", "=", f"EMP-{tag}")]) == 1
