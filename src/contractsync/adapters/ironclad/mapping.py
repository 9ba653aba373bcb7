"""Pure mapping between Ironclad workflow attributes and the canonical contract (no I/O).

The contract template's attributes (``docs/systems.md`` has the full field map):

- ``contractId``, ``contractTitle`` (else the workflow title), ``contractType`` (``Statement of
  Work`` | ``Master Services Agreement`` | ``Change Order``), ``parentContractId``,
  ``contractVersion``, ``legalEntity``, ``contractCurrency``, ``startDate``/``endDate``,
  ``taxTreatment``, ``paymentTermsDays``; ``contractValue`` is written, never read (derived);
- the counterparty: ``counterpartyId``, ``counterpartyName``, ``counterpartyCountry``,
  ``counterpartyRegion``, ``counterpartyIsBusiness``, table ``counterpartyTaxIds``;
- tables ``lineItems`` (``billingModel`` ``Fixed Fee`` | ``Time and Materials`` | ``Retainer``
  | ``Subscription``), ``lineEstimates``, ``milestones``, ``rateCards``, ``obligations``,
  joined to their line by ``lineId``;
- the workflow: cancelled -> terminated; approvals completed (or signed) -> approved; step
  Create -> draft; else in review. ``approved_at`` is ``lastUpdated`` once approvals are
  completed: Ironclad exposes no approval instant, so it is an upper bound.

A missing or ill-typed attribute raises ``DataError`` naming it (``milestones[1].dueDate``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from pydantic import ValidationError

from contractsync.adapters.ironclad.payloads import Attributes, WorkflowModel
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    Subscription,
    TimeAndMaterials,
)
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.valuation import contract_value
from contractsync.errors import DataError
from contractsync.ports.systems import SourcedContract

WORKFLOW = "workflow"
# fmt: off
CONTRACT_TYPES = {"sow": "Statement of Work", "msa": "Master Services Agreement",
                  "change_order": "Change Order"}
BILLING_MODELS = {"fixed_fee": "Fixed Fee", "time_and_materials": "Time and Materials",
                  "retainer": "Retainer", "subscription": "Subscription"}
PERIODS = {"monthly": "Monthly", "quarterly": "Quarterly", "annual": "Annual"}
# Where a canonical validation error points back to in the workflow.
_ATTRIBUTE_OF = {
    "id": "contractId", "title": "contractTitle", "parent_id": "parentContractId",
    "customer_id": "counterpartyId", "legal_entity_code": "legalEntity",
    "currency": "contractCurrency", "term": "startDate", "version": "contractVersion",
    "tax_treatment": "taxTreatment", "payment_terms_days": "paymentTermsDays",
    "lines": "lineItems", "rate_cards": "rateCards", "obligations": "obligations",
    "legal_name": "counterpartyName", "billing_country": "counterpartyCountry",
    "billing_region": "counterpartyRegion", "tax_ids": "counterpartyTaxIds",
}
# fmt: on
T = TypeVar("T")


def _validated(a: Attributes, key: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except (ValidationError, ValueError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise a.error(key, f"is not valid: {reason}") from None


def _money(a: Attributes, key: str) -> Money:
    amount, currency = a.money(key)
    return _validated(a, key, lambda: Money(amount=amount, currency=currency))


def _customer(a: Attributes) -> dict[str, Any]:
    tax_ids = [
        {"scheme": row.text("taxIdScheme"), "value": row.text("taxIdValue")}
        for row in a.rows("counterpartyTaxIds")
    ]
    return {
        "id": a.text("counterpartyId"),
        "legal_name": a.text("counterpartyName"),
        "billing_country": a.text("counterpartyCountry").upper(),
        "billing_region": a.optional_text("counterpartyRegion"),
        "is_business": a.boolean("counterpartyIsBusiness", True),
        "tax_ids": tax_ids,
    }


def _milestones(a: Attributes, line_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    by_line: dict[str, list[dict[str, Any]]] = {}
    for row in a.rows("milestones"):
        line_id = row.text("lineId")
        if line_id not in line_ids:
            raise row.error("lineId", f"names no fixed-fee line ({line_id!r})")
        by_line.setdefault(line_id, []).append(
            {
                "id": row.text("milestoneId"),
                "name": row.text("milestoneName"),
                "amount": _money(row, "milestoneAmount"),
                "due_date": row.optional_day("dueDate"),
                "trigger": row.optional_text("trigger"),
                "acceptance_required": row.boolean("acceptanceRequired", False),
            }
        )
    return by_line


def _estimates(a: Attributes, line_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    by_line: dict[str, list[dict[str, Any]]] = {}
    for row in a.rows("lineEstimates"):
        line_id = row.text("lineId")
        if line_id not in line_ids:
            raise row.error("lineId", f"names no time-and-materials line ({line_id!r})")
        by_line.setdefault(line_id, []).append(
            {"role": row.text("role"), "hours": row.decimal("hours")}
        )
    return by_line


def _billing(row: Attributes, model: str) -> dict[str, Any]:
    if model == "fixed_fee":
        return {"model": model, "amount": _money(row, "fixedFee")}
    if model == "time_and_materials":
        cap = _money(row, "notToExceed") if row.has("notToExceed") else None
        return {"model": model, "rate_card_id": row.text("rateCardId"), "cap": cap}
    if model == "retainer":
        return {"model": model, "monthly_fee": _money(row, "monthlyFee")}
    period = row.choice("billingPeriod", PERIODS) if row.has("billingPeriod") else "monthly"
    return {"model": model, "period": period, "price_per_period": _money(row, "subscriptionPrice")}


def _lines(a: Attributes) -> list[dict[str, Any]]:
    rows = list(a.rows("lineItems"))
    models = {row.text("lineId"): row.choice("billingModel", BILLING_MODELS) for row in rows}
    milestones = _milestones(a, {k for k, m in models.items() if m == "fixed_fee"})
    estimates = _estimates(a, {k for k, m in models.items() if m == "time_and_materials"})
    lines = []
    for row in rows:
        line_id = row.text("lineId")
        billing = _billing(row, models[line_id])
        if billing["model"] == "fixed_fee":
            billing["milestones"] = milestones.get(line_id, [])
        elif billing["model"] == "time_and_materials":
            billing["estimate"] = estimates.get(line_id, [])
        start = row.optional_day("lineStartDate")
        term = {"start": start, "end": row.day("lineEndDate")} if start else None
        line = {
            "id": line_id,
            "description": row.text("lineDescription"),
            "service_code": row.text("serviceCode"),
            "term": term,
            "billing": billing,
        }
        lines.append(line)
    return lines


def _rate_cards(a: Attributes) -> list[dict[str, Any]]:
    cards: dict[str, dict[str, Any]] = {}
    for row in a.rows("rateCards"):
        hourly = _money(row, "hourlyRate")
        card = cards.setdefault(row.text("rateCardId"), {"currency": hourly.currency, "rates": []})
        card["rates"].append(
            {
                "role": row.text("role"),
                "hourly": hourly,
                "effective_from": row.day("effectiveFrom"),
                "effective_to": row.optional_day("effectiveTo"),
            }
        )
    return [{"id": card_id, **card} for card_id, card in cards.items()]


def _obligations(a: Attributes) -> list[dict[str, Any]]:
    return [
        {
            "id": row.text("obligationId"),
            "kind": row.text("obligationType"),
            "clause": row.optional_text("clause") or "",
            "description": row.optional_text("obligationDescription") or "",
            "days": row.optional_integer("days"),
            "percent": row.decimal("percent") if row.has("percent") else None,
        }
        for row in a.rows("obligations")
    ]


def _status(workflow: WorkflowModel) -> ContractStatus:
    if workflow.is_cancelled or workflow.status == "cancelled":
        return ContractStatus.TERMINATED
    if workflow.is_complete or (workflow.approvals and workflow.approvals.state == "completed"):
        return ContractStatus.APPROVED
    return ContractStatus.DRAFT if workflow.step == "Create" else ContractStatus.IN_REVIEW


def _invalid(a: Attributes, exc: ValidationError, what: str) -> DataError:
    loc = exc.errors()[0]["loc"]
    key = _ATTRIBUTE_OF.get(str(loc[0]) if loc else "", "attributes")
    where = ".".join(str(part) for part in loc)
    return a.error(key, f"makes the {what} invalid at {where}: {exc.errors()[0]['msg']}")


def sourced_contract_from_workflow(workflow: WorkflowModel, *, system: str) -> SourcedContract:
    """The canonical contract and counterparty a workflow holds.

    Raises:
        DataError: ``ironclad.attribute_missing`` or ``ironclad.attribute_invalid`` naming the
            attribute (``detail["attribute"]``).
    """
    a = Attributes(workflow.attributes, workflow_id=workflow.id)
    try:
        customer = Customer.model_validate(_customer(a))
    except ValidationError as exc:
        raise _invalid(a, exc, "counterparty") from None
    kind = a.choice("contractType", CONTRACT_TYPES) if a.has("contractType") else "sow"
    fields = {
        "id": a.text("contractId"),
        "kind": kind,
        "title": a.optional_text("contractTitle") or workflow.title,
        "parent_id": a.optional_text("parentContractId"),
        "customer_id": customer.id,
        "legal_entity_code": a.text("legalEntity"),
        "currency": a.text("contractCurrency"),
        "term": {"start": a.day("startDate"), "end": a.day("endDate")},
        "status": _status(workflow),
        "version": a.optional_integer("contractVersion") or 1,
        "tax_treatment": a.optional_text("taxTreatment"),
        "payment_terms_days": a.optional_integer("paymentTermsDays"),
        "lines": _lines(a),
        "rate_cards": _rate_cards(a),
        "obligations": _obligations(a),
        "refs": [ExternalRef(system=system, kind=WORKFLOW, id=workflow.id)],
    }
    try:
        contract = Contract.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(a, exc, "contract") from None
    approved = contract.status is ContractStatus.APPROVED
    return SourcedContract(
        contract=contract,
        customer=customer,
        approved_at=workflow.last_updated if approved else None,
    )


# fmt: off
def _amount(money: Money) -> dict[str, Any]:
    return {"currency": money.currency, "amount": money.amount}


def _instant(day: date | None) -> str | None:
    return f"{day.isoformat()}T00:00:00.000Z" if day is not None else None


def _present(**row: Any) -> dict[str, Any]:
    return {key: value for key, value in row.items() if value is not None}


def _line_row(line: ContractLine) -> dict[str, Any]:
    b, term = line.billing, line.term
    return _present(
        lineId=line.id, lineDescription=line.description, serviceCode=line.service_code,
        billingModel=BILLING_MODELS[line.model.value],
        lineStartDate=_instant(term.start if term else None),
        lineEndDate=_instant(term.end if term else None),
        fixedFee=_amount(b.amount) if isinstance(b, FixedFee) else None,
        rateCardId=b.rate_card_id if isinstance(b, TimeAndMaterials) else None,
        notToExceed=_amount(b.cap) if isinstance(b, TimeAndMaterials) and b.cap else None,
        monthlyFee=_amount(b.monthly_fee) if isinstance(b, Retainer) else None,
        subscriptionPrice=_amount(b.price_per_period) if isinstance(b, Subscription) else None,
        billingPeriod=PERIODS[b.period] if isinstance(b, Subscription) else None,
    )


def attributes_from_contract(contract: Contract, customer: Customer) -> dict[str, Any]:
    """The launch attributes that hold ``contract`` (amounts as ``Decimal``, sent as numbers)."""
    c = contract
    return _present(
        contractId=c.id, contractTitle=c.title, contractType=CONTRACT_TYPES[c.kind.value],
        contractVersion=c.version, parentContractId=c.parent_id,
        counterpartyName=customer.legal_name, counterpartyId=customer.id,
        counterpartyCountry=customer.billing_country, counterpartyRegion=customer.billing_region,
        counterpartyIsBusiness=customer.is_business,
        counterpartyTaxIds=[{"taxIdScheme": t.scheme, "taxIdValue": t.value}
                            for t in customer.tax_ids],
        legalEntity=c.legal_entity_code, contractCurrency=c.currency,
        contractValue=_amount(contract_value(c)),
        startDate=_instant(c.term.start), endDate=_instant(c.term.end),
        taxTreatment=c.tax_treatment.value if c.tax_treatment else None,
        paymentTermsDays=c.payment_terms_days,
        lineItems=[_line_row(line) for line in c.lines],
        lineEstimates=[{"lineId": line.id, "role": e.role, "hours": e.hours}
                       for line in c.lines if isinstance(line.billing, TimeAndMaterials)
                       for e in line.billing.estimate],
        milestones=[_present(lineId=line.id, milestoneId=m.id, milestoneName=m.name,
                             milestoneAmount=_amount(m.amount), dueDate=_instant(m.due_date),
                             trigger=m.trigger, acceptanceRequired=m.acceptance_required)
                    for line, m in c.milestones()],
        rateCards=[_present(rateCardId=card.id, role=r.role, hourlyRate=_amount(r.hourly),
                            effectiveFrom=_instant(r.effective_from),
                            effectiveTo=_instant(r.effective_to))
                   for card in c.rate_cards for r in card.rates],
        obligations=[_present(obligationId=o.id, obligationType=o.kind.value, clause=o.clause,
                              obligationDescription=o.description, days=o.days, percent=o.percent)
                     for o in c.obligations],
    )
# fmt: on


__all__ = [
    "BILLING_MODELS",
    "CONTRACT_TYPES",
    "PERIODS",
    "WORKFLOW",
    "attributes_from_contract",
    "sourced_contract_from_workflow",
]
