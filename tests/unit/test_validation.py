from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings

from contractsync.domain.contract import Contract, ContractKind, ContractStatus
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    RoleHours,
    Subscription,
    TimeAndMaterials,
)
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.finding import Finding
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.domain.tax import TaxIdentifier, TaxTreatment
from contractsync.services.validation import validate_contract
from tests.strategies import contracts

YEAR = Term(start=date(2026, 1, 1), end=date(2026, 12, 31))
SERVICES = frozenset({"SVC-IMPL", "SVC-TM", "SVC-SUPPORT", "SVC-SAAS"})


def eur(amount: str | int) -> Money:
    return Money.of(amount, "EUR")


def entity(code: str, country: str, currency: str) -> LegalEntity:
    return LegalEntity(
        code=code,
        name=f"Contoso {country}",
        country=country,
        functional_currency=currency,
        erp_company=f"{code}-CO",
    )


ENTITIES = {
    "DE01": entity("DE01", "DE", "EUR"),
    "US01": entity("US01", "US", "USD"),
    "BR01": entity("BR01", "BR", "BRL"),
}

ACME = Customer(
    id="CUST-ACME",
    legal_name="Acme SAS",
    billing_country="FR",
    tax_ids=(TaxIdentifier(scheme="eu_vat", value="FR40303265045"),),
)


def milestone(mid: str, amount: str, due: date | None) -> BillingMilestone:
    return BillingMilestone(id=mid, name=f"Milestone {mid}", amount=eur(amount), due_date=due)


def fixed_fee(amount: str = "100000", milestones: tuple[BillingMilestone, ...] | None = None):
    if milestones is None:
        milestones = (
            milestone("M1", "40000", date(2026, 3, 31)),
            milestone("M2", "60000", date(2026, 9, 30)),
        )
    return ContractLine(
        id="L1",
        description="Implementation",
        service_code="SVC-IMPL",
        billing=FixedFee(amount=eur(amount), milestones=milestones),
    )


def time_and_materials(rate_card_id: str = "RC1", cap: Money | None = None) -> ContractLine:
    return ContractLine(
        id="L2",
        description="Advisory hours",
        service_code="SVC-TM",
        billing=TimeAndMaterials(
            rate_card_id=rate_card_id,
            estimate=(
                RoleHours(role="engineer", hours=Decimal(400)),
                RoleHours(role="architect", hours=Decimal(80)),
            ),
            cap=cap or eur("90000"),
        ),
    )


def retainer(fee: Money | None = None) -> ContractLine:
    return ContractLine(
        id="L3",
        description="Support retainer",
        service_code="SVC-SUPPORT",
        billing=Retainer(monthly_fee=fee or eur("2500")),
    )


def rate_card(currency: str = "EUR", architect_until: date | None = None) -> RateCard:
    return RateCard(
        id="RC1",
        currency=currency,
        rates=(
            Rate(
                role="engineer",
                hourly=Money.of(150, currency),
                effective_from=date(2025, 1, 1),
            ),
            Rate(
                role="architect",
                hourly=Money.of(210, currency),
                effective_from=date(2025, 1, 1),
                effective_to=architect_until,
            ),
        ),
    )


def contract(**changes: object) -> Contract:
    data: dict[str, object] = {
        "id": "C-100",
        "title": "Acme implementation SOW",
        "customer_id": "CUST-ACME",
        "legal_entity_code": "DE01",
        "currency": "EUR",
        "term": YEAR,
        "status": ContractStatus.APPROVED,
        "tax_treatment": TaxTreatment.EU_REVERSE_CHARGE,
        "lines": (fixed_fee(), time_and_materials(), retainer()),
        "rate_cards": (rate_card(),),
    }
    data.update(changes)
    return Contract(**data)  # type: ignore[arg-type]


def validate(subject: Contract, customer: Customer = ACME) -> list[Finding]:
    return validate_contract(
        subject, customer=customer, legal_entities=ENTITIES, service_codes=SERVICES
    )


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, f"expected one {code}, got {[f.code for f in findings]}"
    return matching[0]


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_a_complete_contract_gives_no_findings():
    assert validate(contract()) == []


def test_a_contract_for_another_customer_is_a_critical_mismatch_and_skips_its_tax_checks():
    other = ACME.model_copy(update={"id": "CUST-OTHER", "tax_ids": ()})
    findings = validate(contract(), customer=other)
    assert codes(findings) == ["contract.customer_mismatch"]
    finding = findings[0]
    assert finding.severity is Severity.CRITICAL
    assert finding.owner is OwnerRole.INTEGRATION_ADMIN
    assert "C-100" in finding.message
    assert "CUST-ACME" in finding.message
    assert "CUST-OTHER" in finding.message
    assert finding.field == "contract.customer_id"


def test_a_business_without_a_tax_id_of_its_billing_country_is_reported_to_finance():
    german = Customer(id="CUST-ACME", legal_name="Acme GmbH", billing_country="DE")
    finding = only(
        validate(contract(tax_treatment=TaxTreatment.DOMESTIC_VAT), german),
        "customer.tax_id_missing",
    )
    assert finding.owner is OwnerRole.FINANCE
    assert finding.severity is Severity.HIGH
    assert "CUST-ACME (Acme GmbH)" in finding.message
    assert "eu_vat" in finding.remediation
    assert finding.field == "customer.tax_ids"


def test_a_consumer_needs_no_tax_id():
    consumer = Customer(
        id="CUST-ACME", legal_name="Jean Dupont", billing_country="FR", is_business=False
    )
    findings = validate(contract(tax_treatment=TaxTreatment.EU_B2C_DESTINATION_VAT), consumer)
    assert findings == []


def test_a_missing_us_employer_number_is_worth_fixing_but_does_not_block():
    us_buyer = Customer(
        id="CUST-ACME", legal_name="Acme Inc", billing_country="US", billing_region="US-NY"
    )
    findings = validate(
        contract(
            legal_entity_code="US01",
            currency="USD",
            tax_treatment=TaxTreatment.US_SALES_TAX_EXEMPT_SERVICES,
            lines=(),
            kind=ContractKind.MSA,
            rate_cards=(),
        ),
        us_buyer,
    )
    finding = only(findings, "customer.tax_id_missing")
    assert finding.severity is Severity.MEDIUM
    assert not finding.is_blocking


def test_a_business_holding_only_a_foreign_tax_id_is_reported_with_the_countries():
    italian_numbers_only = ACME.model_copy(
        update={"tax_ids": (TaxIdentifier(scheme="eu_vat", value="IT00743110157"),)}
    )
    findings = validate(
        contract(tax_treatment=TaxTreatment.EU_B2C_DESTINATION_VAT), italian_numbers_only
    )
    finding = only(findings, "customer.tax_id_foreign")
    assert "billed in FR" in finding.message
    assert "IT" in finding.message
    assert "billing country" in finding.remediation
    assert "customer.tax_id_missing" not in codes(findings)


def test_the_reverse_charge_without_a_vat_number_of_the_buyers_state_is_reported_once():
    unregistered = ACME.model_copy(update={"tax_ids": ()})
    findings = validate(contract(), unregistered)
    finding = only(findings, "tax.reverse_charge_unproven")
    assert finding.owner is OwnerRole.FINANCE
    assert "no VAT number of FR" in finding.message
    assert "tax.treatment_invalid" not in codes(findings)


def test_an_unknown_legal_entity_is_reported_to_legal_with_the_known_ones():
    finding = only(validate(contract(legal_entity_code="XX99")), "legal_entity.unmapped")
    assert finding.owner is OwnerRole.LEGAL
    assert finding.is_blocking
    assert "XX99" in finding.message
    assert "DE01, US01" in finding.message
    assert finding.field == "contract.legal_entity_code"


def test_a_missing_tax_treatment_names_the_recommended_one():
    finding = only(validate(contract(tax_treatment=None)), "tax.treatment_invalid")
    assert finding.owner is OwnerRole.FINANCE
    assert "has no tax treatment" in finding.message
    assert "permitted: eu_reverse_charge" in finding.message
    assert finding.remediation == "Set the tax treatment to eu_reverse_charge."
    assert finding.field == "contract.tax_treatment"


def test_a_treatment_not_permitted_for_the_pair_names_the_permitted_ones():
    finding = only(
        validate(contract(tax_treatment=TaxTreatment.DOMESTIC_VAT)), "tax.treatment_invalid"
    )
    assert "is taxed as domestic_vat, which is not permitted" in finding.message
    assert "legal entity DE01 (DE) selling to customer CUST-ACME (FR, business)" in finding.message
    assert "permitted: eu_reverse_charge" in finding.message


def test_us_treatments_need_the_buyers_state():
    stateless = Customer(
        id="CUST-ACME",
        legal_name="Acme Inc",
        billing_country="US",
        tax_ids=(TaxIdentifier(scheme="us_ein", value="04-2103594"),),
    )
    findings = validate(
        contract(
            legal_entity_code="US01",
            currency="USD",
            tax_treatment=None,
            lines=(),
            kind=ContractKind.MSA,
            rate_cards=(),
        ),
        stateless,
    )
    assert codes(findings) == ["customer.region_missing", "tax.treatment_invalid"]
    region = findings[0]
    assert region.field == "customer.billing_region"
    assert "US sales tax" in region.message
    assert "one of: us_sales_tax, us_sales_tax_exempt_services" in findings[1].remediation


def test_a_treatment_where_contractsync_has_no_rules_is_flagged_but_does_not_block():
    brazilian = Customer(
        id="CUST-ACME",
        legal_name="Acme Ltda",
        billing_country="BR",
        tax_ids=(TaxIdentifier(scheme="br_cnpj", value="16.727.230/0001-97"),),
    )
    findings = validate(
        contract(
            legal_entity_code="BR01",
            currency="BRL",
            tax_treatment=TaxTreatment.DOMESTIC_VAT,
            lines=(),
            kind=ContractKind.MSA,
            rate_cards=(),
        ),
        brazilian,
    )
    finding = only(findings, "tax.treatment_unverified")
    assert not finding.is_blocking


def test_a_statement_of_work_without_lines_is_reported_to_legal():
    finding = only(validate(contract(lines=(), rate_cards=())), "contract.lines_missing")
    assert finding.owner is OwnerRole.LEGAL
    assert finding.message == "SOW C-100 has no service lines."


def test_a_change_order_without_lines_is_reported_too():
    findings = validate(contract(kind=ContractKind.CHANGE_ORDER, lines=(), rate_cards=()))
    assert codes(findings) == ["contract.lines_missing"]


def test_a_master_agreement_needs_no_lines():
    assert validate(contract(kind=ContractKind.MSA, lines=(), rate_cards=())) == []


def test_an_unknown_service_code_is_reported_to_delivery():
    line = fixed_fee().model_copy(update={"service_code": "SVC-GHOST"})
    finding = only(validate(contract(lines=(line,), rate_cards=())), "line.service_unknown")
    assert finding.owner is OwnerRole.DELIVERY
    assert "Line L1 of contract C-100" in finding.message
    assert "SVC-GHOST" in finding.message
    assert finding.field == "contract.lines[0].service_code"


def test_milestones_not_adding_up_give_both_amounts_and_the_difference():
    line = fixed_fee(amount="110000")
    finding = only(validate(contract(lines=(line,), rate_cards=())), "milestones.sum_mismatch")
    assert finding.owner is OwnerRole.FINANCE
    assert "add up to 100000.00 EUR" in finding.message
    assert "the line amount is 110000.00 EUR" in finding.message
    assert "10000.00 EUR short of it" in finding.message
    assert finding.field == "contract.lines[0].billing.milestones"


def test_milestones_above_the_line_amount_are_reported_as_over():
    finding = only(
        validate(contract(lines=(fixed_fee(amount="99999.99"),), rate_cards=())),
        "milestones.sum_mismatch",
    )
    assert "0.01 EUR over it" in finding.message


def test_a_fixed_fee_line_without_milestones_is_reported():
    finding = only(
        validate(contract(lines=(fixed_fee(milestones=()),), rate_cards=())), "milestones.missing"
    )
    assert finding.owner is OwnerRole.FINANCE
    assert "100000.00 EUR" in finding.remediation
    assert "milestones.sum_mismatch" not in codes(
        validate(contract(lines=(fixed_fee(milestones=()),)))
    )


def test_a_milestone_due_after_its_line_ends_is_reported_with_the_term():
    late = (
        milestone("M1", "40000", date(2026, 3, 31)),
        milestone("M2", "60000", date(2027, 1, 15)),
    )
    finding = only(
        validate(contract(lines=(fixed_fee(milestones=late),), rate_cards=())),
        "milestone.outside_term",
    )
    assert finding.owner is OwnerRole.DELIVERY
    assert "Milestone M2" in finding.message
    assert "2027-01-15" in finding.message
    assert "2026-01-01 to 2026-12-31" in finding.message
    assert finding.field == "contract.lines[0].billing.milestones[1].due_date"


def test_a_triggered_milestone_without_a_date_is_never_outside_the_term():
    triggered = BillingMilestone(id="M2", name="Go-live", amount=eur("60000"), trigger="go-live")
    line = fixed_fee(milestones=(milestone("M1", "40000", date(2026, 3, 31)), triggered))
    assert validate(contract(lines=(line,), rate_cards=())) == []


def test_a_time_and_materials_line_without_its_rate_card_is_reported():
    finding = only(validate(contract(rate_cards=())), "rate_card.missing")
    assert finding.owner is OwnerRole.FINANCE
    assert "rate card RC1" in finding.message
    assert finding.field == "contract.lines[1].billing.rate_card_id"


def test_a_role_whose_rate_ends_inside_the_line_term_is_uncovered_from_the_next_day():
    card = rate_card(architect_until=date(2026, 6, 30))
    finding = only(validate(contract(rate_cards=(card,))), "rate_card.role_uncovered")
    assert finding.owner is OwnerRole.FINANCE
    assert "no rate for role 'architect' on 2026-07-01" in finding.message
    assert "line L2 of contract C-100" in finding.message
    assert "effective from 2026-07-01" in finding.remediation
    assert finding.field == "contract.lines[1].billing.estimate[1].role"


def test_a_role_without_any_rate_is_uncovered_from_the_line_start():
    card = RateCard(id="RC1", currency="EUR", rates=(rate_card().rates[0],))
    finding = only(validate(contract(rate_cards=(card,))), "rate_card.role_uncovered")
    assert "on 2026-01-01" in finding.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": (fixed_fee().model_copy(update={"billing": FixedFee(amount=Money.of(100000, "USD"), milestones=())}),)}, "contract.lines[0].billing.amount"),
        ({"lines": (time_and_materials(cap=Money.of(90000, "USD")),)}, "contract.lines[0].billing.cap"),
        ({"lines": (retainer(fee=Money.of(2500, "GBP")),)}, "contract.lines[0].billing.monthly_fee"),
        ({"lines": (ContractLine(id="L4", description="Hosting", service_code="SVC-SAAS", billing=Subscription(price_per_period=Money.of(900, "CHF"))),)}, "contract.lines[0].billing.price_per_period"),
        ({"lines": (fixed_fee(milestones=(milestone("M1", "40000", date(2026, 3, 31)), BillingMilestone(id="M2", name="Go-live", amount=Money.of(60000, "USD"), trigger="go-live"))),)}, "contract.lines[0].billing.milestones[1].amount"),
        ({"rate_cards": (rate_card(currency="USD"),)}, "contract.rate_cards[0].currency"),
    ],
    ids=["line amount", "cap", "retainer fee", "subscription price", "milestone", "rate card"],
)  # fmt: skip
def test_any_amount_or_rate_card_outside_the_contract_currency_is_a_mixed_currency(changes, field):
    findings = validate(contract(**changes))
    mixed = [f for f in findings if f.code == "contract.currency_mixed"]
    assert [f.field for f in mixed] == [field]
    assert mixed[0].owner is OwnerRole.FINANCE
    assert "Contract C-100 is in EUR" in mixed[0].message
    assert "never converts" in mixed[0].remediation


def test_a_contract_in_another_currency_than_the_legal_entity_books_in_is_only_a_note():
    usd_card = rate_card(currency="USD")
    usd_lines = (
        time_and_materials(cap=Money.of(90000, "USD")),
        retainer(fee=Money.of(2500, "USD")),
    )
    findings = validate(contract(currency="USD", lines=usd_lines, rate_cards=(usd_card,)))
    finding = only(findings, "legal_entity.currency_differs")
    assert finding.severity is Severity.LOW
    assert not finding.is_blocking
    assert codes(findings) == ["legal_entity.currency_differs"]


def test_findings_come_in_document_order_and_the_same_order_every_time():
    broken = contract(
        legal_entity_code="XX99",
        lines=(
            fixed_fee(amount="1").model_copy(update={"service_code": "SVC-GHOST"}),
            time_and_materials(rate_card_id="RC-NONE"),
        ),
    )
    first = validate(broken)
    assert codes(first) == [
        "legal_entity.unmapped",
        "line.service_unknown",
        "milestones.sum_mismatch",
        "rate_card.missing",
    ]
    assert validate(broken) == first


def test_every_finding_names_its_record_and_says_what_to_do():
    broken = contract(
        tax_treatment=None,
        lines=(fixed_fee(amount="1"), time_and_materials(rate_card_id="RC-NONE")),
    )
    findings = validate(broken, ACME.model_copy(update={"tax_ids": ()}))
    assert len(findings) >= 4
    for finding in findings:
        assert "C-100" in finding.message or "CUST-ACME" in finding.message
        assert finding.remediation
        assert finding.field


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(contracts())
def test_a_generated_consistent_contract_never_has_a_blocking_finding(generated):
    new_yorker = Customer(
        id="CUST-1",
        legal_name="Generated Inc",
        billing_country="US",
        billing_region="US-NY",
        tax_ids=(TaxIdentifier(scheme="us_ein", value="04-2103594"),),
    )
    subject = generated.model_copy(
        update={"tax_treatment": TaxTreatment.US_SALES_TAX_EXEMPT_SERVICES}
    )
    findings = validate_contract(
        subject,
        customer=new_yorker,
        legal_entities=ENTITIES,
        service_codes={line.service_code for line in subject.lines},
    )
    assert [f for f in findings if f.is_blocking] == []
