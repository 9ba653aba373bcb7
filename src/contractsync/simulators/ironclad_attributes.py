"""A canonical contract written as an Ironclad workflow's ``attributes``, as a template would hold it.

Ironclad keeps a workflow's data in a flat map of typed attributes (``reference/vendors.md``
§2.2; ``ironclad_openapi_unofficial.yml`` ``AttributesModel``): strings, numbers, booleans,
dates (ISO 8601 instants), monetary amounts ``{"currency", "amount"}`` whose amount is a JSON
number, and tables (arrays of flat objects). The simulator's contract template uses these
attributes; the names are ours (a real template's are chosen by its admin):

========================  ==================================================================
attribute                 canonical
========================  ==================================================================
contractId                Contract.id
contractTitle             title
contractType              kind: "Statement of Work" | "Master Services Agreement" |
                          "Change Order"
parentContractId          parent_id
contractVersion           version
counterpartyName / Id     Customer.legal_name / Customer.id (= Contract.customer_id)
counterpartyCountry       billing_country; counterpartyRegion: billing_region
counterpartyIsBusiness    is_business
counterpartyTaxIds        table {taxIdScheme, taxIdValue}
legalEntity               legal_entity_code
contractCurrency          currency; contractValue: the whole value (monetary, read-only)
startDate / endDate       term
taxTreatment              tax_treatment; paymentTermsDays: payment_terms_days
lineItems                 table {lineId, lineDescription, serviceCode, billingModel,
                          lineStartDate, lineEndDate, fixedFee, rateCardId, notToExceed,
                          monthlyFee, subscriptionPrice, billingPeriod}
lineEstimates             table {lineId, role, hours}
milestones                table {lineId, milestoneId, milestoneName, milestoneAmount, dueDate,
                          trigger, acceptanceRequired}
rateCards                 table {rateCardId, role, hourlyRate, effectiveFrom, effectiveTo}
obligations               table {obligationId, obligationType, clause, obligationDescription,
                          days, percent}
========================  ==================================================================

Written here from the canonical model, independently of the hub's adapter, so the adapter's
reading is checked against a second implementation.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import FixedFee, Retainer, Subscription, TimeAndMaterials
from contractsync.domain.customer import Customer
from contractsync.domain.money import Money
from contractsync.domain.valuation import contract_value

CONTRACT_TYPES = {
    "sow": "Statement of Work",
    "msa": "Master Services Agreement",
    "change_order": "Change Order",
}
BILLING_MODELS = {
    "fixed_fee": "Fixed Fee",
    "time_and_materials": "Time and Materials",
    "retainer": "Retainer",
    "subscription": "Subscription",
}
PERIODS = {"monthly": "Monthly", "quarterly": "Quarterly", "annual": "Annual"}


def instant(day: date) -> str:
    """An Ironclad date attribute: midnight UTC as an ISO 8601 instant with milliseconds."""
    return f"{day.isoformat()}T00:00:00.000Z"


def number(value: Decimal) -> int | float:
    """A JSON number as a JavaScript service sends it (Ironclad amounts are numbers)."""
    return int(value) if value == value.to_integral_value() else float(value)


def monetary(money: Money) -> dict[str, Any]:
    """A ``monetaryAmount`` attribute value."""
    return {"currency": money.currency, "amount": number(money.amount)}


def _line(contract: Contract, index: int) -> dict[str, Any]:
    line = contract.lines[index]
    row: dict[str, Any] = {
        "lineId": line.id,
        "lineDescription": line.description,
        "serviceCode": line.service_code,
        "billingModel": BILLING_MODELS[line.model.value],
    }
    if line.term is not None:
        row["lineStartDate"] = instant(line.term.start)
        row["lineEndDate"] = instant(line.term.end)
    billing = line.billing
    if isinstance(billing, FixedFee):
        row["fixedFee"] = monetary(billing.amount)
    elif isinstance(billing, TimeAndMaterials):
        row["rateCardId"] = billing.rate_card_id
        if billing.cap is not None:
            row["notToExceed"] = monetary(billing.cap)
    elif isinstance(billing, Retainer):
        row["monthlyFee"] = monetary(billing.monthly_fee)
    elif isinstance(billing, Subscription):
        row["subscriptionPrice"] = monetary(billing.price_per_period)
        row["billingPeriod"] = PERIODS[billing.period.value]
    return row


def _tables(contract: Contract) -> dict[str, list[dict[str, Any]]]:
    estimates = [
        {"lineId": line.id, "role": e.role, "hours": number(e.hours)}
        for line in contract.lines
        if isinstance(line.billing, TimeAndMaterials)
        for e in line.billing.estimate
    ]
    milestones = []
    for line, m in contract.milestones():
        row: dict[str, Any] = {
            "lineId": line.id,
            "milestoneId": m.id,
            "milestoneName": m.name,
            "milestoneAmount": monetary(m.amount),
            "acceptanceRequired": m.acceptance_required,
        }
        if m.due_date is not None:
            row["dueDate"] = instant(m.due_date)
        if m.trigger:
            row["trigger"] = m.trigger
        milestones.append(row)
    rates = []
    for card in contract.rate_cards:
        for rate in card.rates:
            rate_row: dict[str, Any] = {
                "rateCardId": card.id,
                "role": rate.role,
                "hourlyRate": monetary(rate.hourly),
                "effectiveFrom": instant(rate.effective_from),
            }
            if rate.effective_to is not None:
                rate_row["effectiveTo"] = instant(rate.effective_to)
            rates.append(rate_row)
    obligations = []
    for ob in contract.obligations:
        ob_row: dict[str, Any] = {
            "obligationId": ob.id,
            "obligationType": ob.kind.value,
            "clause": ob.clause,
            "obligationDescription": ob.description,
        }
        if ob.days is not None:
            ob_row["days"] = ob.days
        if ob.percent is not None:
            ob_row["percent"] = number(ob.percent)
        obligations.append(ob_row)
    return {
        "lineItems": [_line(contract, i) for i in range(len(contract.lines))],
        "lineEstimates": estimates,
        "milestones": milestones,
        "rateCards": rates,
        "obligations": obligations,
    }


def attributes_of(contract: Contract, customer: Customer) -> dict[str, Any]:
    """The workflow attributes that hold ``contract`` with ``customer`` as the counterparty.

    Args:
        contract: The canonical contract version.
        customer: Its counterparty.

    Returns:
        The attribute map, JSON-ready (amounts as numbers, dates as instants).
    """
    attributes: dict[str, Any] = {
        "contractId": contract.id,
        "contractTitle": contract.title,
        "contractType": CONTRACT_TYPES[contract.kind.value],
        "contractVersion": contract.version,
        "counterpartyName": customer.legal_name,
        "counterpartyId": customer.id,
        "counterpartyCountry": customer.billing_country,
        "counterpartyIsBusiness": customer.is_business,
        "counterpartyTaxIds": [
            {"taxIdScheme": t.scheme, "taxIdValue": t.value} for t in customer.tax_ids
        ],
        "legalEntity": contract.legal_entity_code,
        "contractCurrency": contract.currency,
        "contractValue": monetary(contract_value(contract)),
        "startDate": instant(contract.term.start),
        "endDate": instant(contract.term.end),
    }
    if contract.parent_id:
        attributes["parentContractId"] = contract.parent_id
    if customer.billing_region:
        attributes["counterpartyRegion"] = customer.billing_region
    if contract.tax_treatment is not None:
        attributes["taxTreatment"] = contract.tax_treatment.value
    if contract.payment_terms_days is not None:
        attributes["paymentTermsDays"] = contract.payment_terms_days
    attributes.update(_tables(contract))
    return attributes


def schema_of(attributes: dict[str, Any]) -> dict[str, Any]:
    """The ``schema`` of a workflow: each attribute's type and display name."""

    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, list):
            return "array"
        if isinstance(value, dict):
            return "monetaryAmount"
        if isinstance(value, str) and value.endswith("T00:00:00.000Z"):
            return "date"
        return "string"

    return {
        key: {"type": kind(value), "displayName": key[:1].upper() + key[1:], "propertyKey": key}
        for key, value in attributes.items()
    }


__all__ = ["BILLING_MODELS", "CONTRACT_TYPES", "PERIODS", "attributes_of", "instant", "schema_of"]
