"""Activation checks: every rule a contract must satisfy before it is activated, as findings."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import date, timedelta

from contractsync.domain.contract import Contract, ContractKind
from contractsync.domain.contract_line import ContractLine, FixedFee, Retainer, TimeAndMaterials
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.finding import Finding
from contractsync.domain.money import Money, total
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import RateCard
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.domain.tax import TaxTreatment, scheme_for_country
from contractsync.services.tax_treatment import (
    EU_MEMBER_STATES,
    permitted_treatments,
    recommended_treatment,
    vat_country,
)

LEGAL, FINANCE, DELIVERY = OwnerRole.LEGAL, OwnerRole.FINANCE, OwnerRole.DELIVERY


def validate_contract(
    contract: Contract,
    *,
    customer: Customer,
    legal_entities: Mapping[str, LegalEntity],
    service_codes: Collection[str],
) -> list[Finding]:
    """Return every reason ``contract`` may not be activated yet, in a stable order.

    The checks run in document order: the parties (customer, tax identifiers), the legal
    entity and tax treatment, each line (service, milestones, rate coverage), then the
    currencies. A blocking finding (:attr:`Finding.is_blocking`) stops activation; a LOW one
    is a note. When the contract names another customer than ``customer``, the customer's
    tax checks are skipped, because their findings would describe the wrong company.

    Args:
        contract: The contract version to be activated.
        customer: The customer the contract is for.
        legal_entities: Our legal entities by code.
        service_codes: The service (product) codes of the catalogue.

    Returns:
        The findings; an empty list when the contract may be activated. Business rule
        failures never raise.
    """
    findings: list[Finding] = []
    same_customer = contract.customer_id == customer.id
    if same_customer:
        findings.extend(_customer_tax_ids(customer))
    else:
        findings.append(_customer_mismatch(contract, customer))
    entity = legal_entities.get(contract.legal_entity_code)
    if entity is None:
        findings.append(_legal_entity_unmapped(contract, legal_entities))
    elif same_customer:
        findings.extend(_tax_treatment(contract, entity, customer))
    findings.extend(_lines(contract, frozenset(service_codes)))
    findings.extend(_currencies(contract))
    if entity is not None and entity.functional_currency != contract.currency:
        findings.append(
            Finding(
                code="legal_entity.currency_differs",
                owner=FINANCE,
                severity=Severity.LOW,
                message=f"Contract {contract.id} is in {contract.currency} while legal entity "
                f"{entity.code} books in {entity.functional_currency}; the ERP revalues it.",
                remediation=f"Nothing blocks activation; make sure the ERP has "
                f"{contract.currency}/{entity.functional_currency} exchange rates.",
                field="contract.currency",
            )
        )
    return findings


def _customer_mismatch(contract: Contract, customer: Customer) -> Finding:
    return Finding(
        code="contract.customer_mismatch",
        owner=OwnerRole.INTEGRATION_ADMIN,
        severity=Severity.CRITICAL,
        message=f"Contract {contract.id} is for customer {contract.customer_id}, but it was "
        f"checked against customer {customer.id} ({customer.legal_name}).",
        remediation="Check how the CLM contract's counterparty maps to the CRM account "
        "(external refs), then validate the contract against its own customer.",
        field="contract.customer_id",
    )


def _customer_tax_ids(customer: Customer) -> Iterator[Finding]:
    scheme = scheme_for_country(customer.billing_country)
    if not customer.is_business or scheme is None:
        return
    if any(tax_id.country == customer.billing_country for tax_id in customer.tax_ids):
        return
    who = f"Customer {customer.id} ({customer.legal_name})"
    # An EIN is not needed on a US invoice; a VAT/GST number is, for the invoice to be valid.
    severity = Severity.MEDIUM if customer.billing_country == "US" else Severity.HIGH
    if customer.tax_ids:
        held = ", ".join(sorted({t.country for t in customer.tax_ids}))
        yield Finding(
            code="customer.tax_id_foreign",
            owner=FINANCE,
            severity=severity,
            message=f"{who} is billed in {customer.billing_country} but only holds tax "
            f"identifiers of {held}.",
            remediation=f"Add its {scheme} number for {customer.billing_country}, or correct "
            "the billing country in the CRM account.",
            field="customer.tax_ids",
        )
        return
    yield Finding(
        code="customer.tax_id_missing",
        owner=FINANCE,
        severity=severity,
        message=f"{who} is a business billed in {customer.billing_country} without a "
        f"{customer.billing_country} tax identifier.",
        remediation=f"Add its {scheme} number to the CRM account, or mark the customer as a "
        "consumer if it is not a business.",
        field="customer.tax_ids",
    )


def _legal_entity_unmapped(contract: Contract, entities: Mapping[str, LegalEntity]) -> Finding:
    known = ", ".join(sorted(entities)) or "none"
    return Finding(
        code="legal_entity.unmapped",
        owner=LEGAL,
        message=f"Contract {contract.id} is signed by legal entity {contract.legal_entity_code}, "
        f"which is not one of ours (known: {known}).",
        remediation="Correct the contracting entity in the CLM, or map the code to one of our "
        "legal entities in contractsync.yaml.",
        field="contract.legal_entity_code",
    )


def _tax_treatment(
    contract: Contract, entity: LegalEntity, customer: Customer
) -> Iterator[Finding]:
    permitted = permitted_treatments(entity, customer)
    declared = contract.tax_treatment
    pair = (
        f"legal entity {entity.code} ({entity.country}) selling to customer {customer.id} "
        f"({customer.billing_country}, {'business' if customer.is_business else 'consumer'})"
    )
    us_to_us = vat_country(entity.country) == "US" == vat_country(customer.billing_country)
    if us_to_us and customer.billing_region is None:
        yield Finding(
            code="customer.region_missing",
            owner=FINANCE,
            message=f"Customer {customer.id} ({customer.legal_name}) has no billing state, "
            f"which decides the US sales tax on contract {contract.id}.",
            remediation="Set the customer's billing_region (for example US-NY) in the CRM account.",
            field="customer.billing_region",
        )
    if declared is not None and declared in permitted:
        return
    if declared is TaxTreatment.EU_REVERSE_CHARGE and _is_eu_cross_border_b2b(entity, customer):
        yield Finding(
            code="tax.reverse_charge_unproven",
            owner=FINANCE,
            message=f"Contract {contract.id} applies the EU reverse charge, but customer "
            f"{customer.id} ({customer.legal_name}) has no VAT number of "
            f"{vat_country(customer.billing_country)}.",
            remediation="Add the customer's VAT number of its member state (eu_vat) to the CRM "
            "account, or tax the contract as a consumer supply.",
            field="customer.tax_ids",
        )
        return
    if not permitted and declared is not None:
        yield Finding(
            code="tax.treatment_unverified",
            owner=FINANCE,
            severity=Severity.MEDIUM,
            message=f"Contract {contract.id} is taxed as {declared}; contractsync has no "
            f"tax rules for {pair}, so it could not check that.",
            remediation="Have finance confirm the treatment; nothing blocks activation.",
            field="contract.tax_treatment",
        )
        return
    names = ", ".join(sorted(permitted)) or "none known to contractsync"
    problem = (
        f"is taxed as {declared}, which is not permitted for {pair}"
        if declared
        else f"has no tax treatment for {pair}"
    )
    yield Finding(
        code="tax.treatment_invalid",
        owner=FINANCE,
        message=f"Contract {contract.id} {problem}; permitted: {names}.",
        remediation=_treatment_remedy(permitted, entity, customer),
        field="contract.tax_treatment",
    )


def _treatment_remedy(
    permitted: frozenset[TaxTreatment], entity: LegalEntity, customer: Customer
) -> str:
    if not permitted:
        return "Set the tax treatment by hand after checking it with your tax adviser."
    if len(permitted) > 1 and TaxTreatment.EU_B2C_DESTINATION_VAT not in permitted:
        return f"Set the tax treatment to one of: {', '.join(sorted(permitted))}."
    return f"Set the tax treatment to {recommended_treatment(entity, customer)}."


def _is_eu_cross_border_b2b(entity: LegalEntity, customer: Customer) -> bool:
    seller, buyer = vat_country(entity.country), vat_country(customer.billing_country)
    return (
        customer.is_business
        and seller != buyer
        and seller in EU_MEMBER_STATES
        and buyer in EU_MEMBER_STATES
    )


def _lines(contract: Contract, service_codes: frozenset[str]) -> Iterator[Finding]:
    if contract.kind is not ContractKind.MSA and not contract.lines:
        yield Finding(
            code="contract.lines_missing",
            owner=LEGAL,
            message=f"{contract.kind.value.upper()} {contract.id} has no service lines.",
            remediation="Add the service lines of the statement of work in the CLM.",
            field="contract.lines",
        )
    for index, line in enumerate(contract.lines):
        path = f"contract.lines[{index}]"
        if line.service_code not in service_codes:
            yield Finding(
                code="line.service_unknown",
                owner=DELIVERY,
                message=f"Line {line.id} of contract {contract.id} sells service "
                f"{line.service_code}, which is not in the service catalogue.",
                remediation="Use a catalogue service code on the line, or add the service "
                "to the catalogue first.",
                field=f"{path}.service_code",
            )
        if isinstance(line.billing, FixedFee):
            yield from _milestones(contract, line, line.billing, path)
        elif isinstance(line.billing, TimeAndMaterials):
            yield from _rate_coverage(contract, line, line.billing, path)


def _milestones(
    contract: Contract, line: ContractLine, billing: FixedFee, path: str
) -> Iterator[Finding]:
    where = f"fixed-fee line {line.id} of contract {contract.id}"
    if not billing.milestones:
        yield Finding(
            code="milestones.missing",
            owner=FINANCE,
            message=f"The {where} has no billing milestones, so it can never be invoiced.",
            remediation=f"Add milestones adding up to {billing.amount}.",
            field=f"{path}.billing.milestones",
        )
        return
    amounts = [m.amount for m in billing.milestones]
    # Mixed currencies are reported by the currency check; a sum would be meaningless.
    if all(a.currency == billing.amount.currency for a in amounts):
        summed = total(amounts, billing.amount.currency)
        if summed != billing.amount:
            gap = billing.amount - summed
            side = "short of" if gap.amount > 0 else "over"
            yield Finding(
                code="milestones.sum_mismatch",
                owner=FINANCE,
                message=f"The milestones of {where} add up to {summed}, the line amount is "
                f"{billing.amount}: {_abs(gap)} {side} it.",
                remediation="Reprice the milestones or correct the line amount so that they "
                "are equal.",
                field=f"{path}.billing.milestones",
            )
    term = contract.line_term(line)
    for index, milestone in enumerate(billing.milestones):
        if milestone.due_date is not None and not term.contains(milestone.due_date):
            yield Finding(
                code="milestone.outside_term",
                owner=DELIVERY,
                message=f"Milestone {milestone.id} of {where} is due {milestone.due_date}, "
                f"outside the line term {term.start} to {term.end}.",
                remediation="Move the milestone into the line term, or extend the term.",
                field=f"{path}.billing.milestones[{index}].due_date",
            )


def _abs(money: Money) -> Money:
    return -money if money.is_negative else money


def _rate_coverage(
    contract: Contract, line: ContractLine, billing: TimeAndMaterials, path: str
) -> Iterator[Finding]:
    card = contract.rate_card(billing.rate_card_id)
    if card is None:
        yield Finding(
            code="rate_card.missing",
            owner=FINANCE,
            message=f"Time-and-materials line {line.id} of contract {contract.id} bills at "
            f"rate card {billing.rate_card_id}, which the contract does not include.",
            remediation="Attach the rate card to the contract, or point the line at one it has.",
            field=f"{path}.billing.rate_card_id",
        )
        return
    term = contract.line_term(line)
    for index, estimate in enumerate(billing.estimate):
        if not card.covers(estimate.role, term.start, term.end):
            gap = _first_uncovered_day(card, estimate.role, term)
            yield Finding(
                code="rate_card.role_uncovered",
                owner=FINANCE,
                message=f"Rate card {card.id} has no rate for role {estimate.role!r} on "
                f"{gap}, inside the term {term.start} to {term.end} of line {line.id} "
                f"of contract {contract.id}.",
                remediation=f"Add a rate for {estimate.role!r} effective from {gap} to the "
                f"rate card, or take the role off the line.",
                field=f"{path}.billing.estimate[{index}].role",
            )


def _first_uncovered_day(card: RateCard, role: str, term: Term) -> date:
    # Walks the ranges like RateCard.covers, stopping at the first day nothing applies.
    day = term.start
    for rate in sorted((r for r in card.rates if r.role == role), key=lambda r: r.effective_from):
        if rate.effective_from > day or rate.effective_to is None:
            break
        day = max(day, rate.effective_to + timedelta(days=1))
    return day


def _currencies(contract: Contract) -> Iterator[Finding]:
    stated: list[tuple[str, str, str, str]] = []
    for index, line in enumerate(contract.lines):
        path = f"contract.lines[{index}]"
        stated.extend(
            (what, field, money.currency, str(money))
            for what, field, money in _line_amounts(line, path)
        )
    for index, card in enumerate(contract.rate_cards):
        stated.append(
            (
                f"rate card {card.id}",
                f"contract.rate_cards[{index}].currency",
                card.currency,
                card.currency,
            )
        )
    for what, field, currency, shown in stated:
        if currency != contract.currency:
            yield Finding(
                code="contract.currency_mixed",
                owner=FINANCE,
                message=f"Contract {contract.id} is in {contract.currency}, but the {what} "
                f"is in {shown}.",
                remediation=f"State every amount and rate card of the contract in "
                f"{contract.currency}; contractsync never converts currencies.",
                field=field,
            )


def _line_amounts(line: ContractLine, path: str) -> Iterator[tuple[str, str, Money]]:
    billing = line.billing
    if isinstance(billing, FixedFee):
        yield f"amount of line {line.id}", f"{path}.billing.amount", billing.amount
        for index, milestone in enumerate(billing.milestones):
            yield (
                f"milestone {milestone.id} of line {line.id}",
                f"{path}.billing.milestones[{index}].amount",
                milestone.amount,
            )
    elif isinstance(billing, TimeAndMaterials):
        if billing.cap is not None:
            yield f"cap of line {line.id}", f"{path}.billing.cap", billing.cap
    elif isinstance(billing, Retainer):
        yield f"monthly fee of line {line.id}", f"{path}.billing.monthly_fee", billing.monthly_fee
    else:
        yield (
            f"price of line {line.id}",
            f"{path}.billing.price_per_period",
            billing.price_per_period,
        )
