"""Every canonical entity refuses bad input with an error naming the field and the rule broken."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contractsync.domain.amendment import Amendment
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.decision import PolicyDecision
from contractsync.domain.exception_item import ExceptionItem
from contractsync.domain.finding import Finding
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.obligation import Obligation
from contractsync.domain.periods import Term
from contractsync.domain.plan import AmendmentPlan
from contractsync.domain.project import Project
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.schedules import BillingSchedule, RevenueSchedule


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


MONEY = usd("1250.00")
CUSTOMER = {
    "id": "CUST-1",
    "legal_name": "Hanseatic Freight Logistics GmbH",
    "billing_country": "DE",
    "tax_ids": [{"scheme": "eu_vat", "value": "DE812345673"}],
}
LEGAL_ENTITY = {
    "code": "DE01",
    "name": "Kestrel Advisory GmbH",
    "country": "DE",
    "functional_currency": "EUR",
    "erp_company": "KA-DE-BER",
}
MILESTONE = {
    "id": "M1",
    "name": "Design signed off",
    "amount": usd("500.00"),
    "due_date": "2025-03-31",
}
LINE = {
    "id": "L1",
    "description": "ERP implementation",
    "service_code": "IMPL-ERP",
    "billing": {"model": "fixed_fee", "amount": usd("500.00"), "milestones": [MILESTONE]},
}
TM_LINE = {
    "id": "L2",
    "description": "Change requests",
    "service_code": "DEV-CUSTOM",
    "billing": {
        "model": "time_and_materials",
        "rate_card_id": "RC1",
        "estimate": [{"role": "engineer", "hours": "100"}],
        "cap": usd("10000.00"),
    },
}
RATE = {"role": "engineer", "hourly": usd("150.00"), "effective_from": "2025-01-01"}
RATE_CARD = {"id": "RC1", "currency": "USD", "rates": [RATE]}
CONTRACT = {
    "id": "SOW-1",
    "title": "ERP roll-out",
    "customer_id": "CUST-1",
    "legal_entity_code": "US01",
    "currency": "USD",
    "term": {"start": "2025-01-01", "end": "2025-12-31"},
    "lines": [LINE, TM_LINE],
    "rate_cards": [RATE_CARD],
}
OBLIGATION = {"id": "OB1", "kind": "payment_terms", "days": 30}
AMENDMENT = {
    "id": "SOW-1-A1",
    "contract_id": "SOW-1",
    "sequence": 1,
    "base_version": 1,
    "effective_date": "2025-06-01",
    "changes": [{"kind": "term_change", "end": "2026-03-31"}],
}
EXTERNAL_REF = {"system": "salesforce", "kind": "Account", "id": "0015g00000QxHbAAAV"}
FINDING = {
    "code": "contract.milestones_do_not_sum",
    "owner": "finance",
    "message": "Milestones add up to 180,000 EUR, the fee is 200,000 EUR.",
    "remediation": "Correct the milestones.",
}
PROJECT = {"id": "PRJ-1", "contract_id": "SOW-1", "customer_id": "CUST-1", "name": "ERP roll-out"}
EXCEPTION_ITEM = {
    "id": "EX-1",
    "code": "erp.rejected",
    "message": "The ERP refused the customer.",
    "owner": "finance",
    "sla_due": "2025-06-02T09:00:00Z",
    "remediation": "Fix the tax id, then retry.",
    "created_at": "2025-06-01T09:00:00Z",
}
BILLING_ENTRY = {
    "line_id": "L1",
    "description": "Milestone: Design signed off",
    "period_start": "2025-03-31",
    "period_end": "2025-03-31",
    "invoice_date": "2025-04-01",
    "due_date": "2025-05-01",
    "amount": usd("500.00"),
}
BILLING_SCHEDULE = {
    "contract_id": "SOW-1",
    "contract_version": 1,
    "currency": "USD",
    "entries": [BILLING_ENTRY],
}
REVENUE_SCHEDULE = {
    "contract_id": "SOW-1",
    "contract_version": 1,
    "currency": "USD",
    "entries": [
        {
            "line_id": "L1",
            "month": "2025-03-01",
            "recognition_date": "2025-03-31",
            "method": "point_in_time",
            "amount": usd("500.00"),
        }
    ],
}
PLAN = {
    "contract_id": "SOW-1",
    "from_version": 1,
    "to_version": 2,
    "impact": {
        "value_before": usd("100.00"),
        "value_after": usd("110.00"),
        "delta": usd("10.00"),
        "delta_pct": "10",
        "invoiced_amount_affected": usd("0.00"),
    },
}
DECISION = {
    "action": "route",
    "owner": "finance",
    "reason": "Rates rise by more than 10 %.",
    "rule_id": "large-rate-change",
    "policy_name": "default",
    "policy_version": "1",
}

BASES: dict[type[BaseModel], dict[str, Any]] = {
    Money: MONEY,
    Customer: CUSTOMER,
    LegalEntity: LEGAL_ENTITY,
    BillingMilestone: MILESTONE,
    ContractLine: LINE,
    Rate: RATE,
    RateCard: RATE_CARD,
    Contract: CONTRACT,
    Obligation: OBLIGATION,
    Amendment: AMENDMENT,
    ExternalRef: EXTERNAL_REF,
    Finding: FINDING,
    Project: PROJECT,
    ExceptionItem: EXCEPTION_ITEM,
    BillingSchedule: BILLING_SCHEDULE,
    RevenueSchedule: REVENUE_SCHEDULE,
    AmendmentPlan: PLAN,
    PolicyDecision: DECISION,
    Term: CONTRACT["term"],
}


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a deep copy of ``base`` with the dotted ``path`` (list indexes as digits) set."""
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


@dataclass(frozen=True)
class Invalid:
    """Validating ``data`` as ``model`` fails at ``loc`` with a message containing ``msg``."""

    model: type[BaseModel]
    data: dict[str, Any]
    loc: tuple[str | int, ...]
    msg: str


def case(
    model: type[BaseModel], path: str, value: Any, loc: tuple[str | int, ...], msg: str
) -> Invalid:
    return Invalid(model, changed(BASES[model], path, value), loc, msg)


CASES = {
    # Money
    "money refuses sub-cent amounts": case(
        Money, "amount", "10.005", (), "more decimals than USD allows"
    ),
    "money refuses floats": case(Money, "amount", 0.1, ("amount",), "never floats"),
    "money refuses NaN": case(Money, "amount", "NaN", ("amount",), "finite number"),
    "money refuses lower-case currency": case(Money, "currency", "usd", ("currency",), "pattern"),
    "money refuses unknown currency": case(Money, "currency", "ABC", ("currency",), "ISO 4217"),
    "money refuses gold as a currency": case(Money, "currency", "XAU", ("currency",), "ISO 4217"),
    "money refuses unknown fields": case(
        Money, "cents", 5, ("cents",), "Extra inputs are not permitted"
    ),
    # Customer and tax identifiers
    "customer needs a legal name": case(
        Customer, "legal_name", "", ("legal_name",), "at least 1 character"
    ),
    "customer id has no spaces": case(Customer, "id", "CUST 1", ("id",), "pattern"),
    "customer country is ISO 3166": case(
        Customer, "billing_country", "XX", ("billing_country",), "ISO 3166-1"
    ),
    "customer region is ISO 3166-2": case(
        Customer, "billing_region", "DE-ZZ", ("billing_region",), "ISO 3166-2"
    ),
    "customer region lies in its country": case(
        Customer, "billing_region", "US-CA", (), "billing_region US-CA is not in billing_country DE"
    ),
    "customer vat number check digit": case(
        Customer, "tax_ids.0.value", "DE812345674", ("tax_ids", 0), "not a valid eu_vat number"
    ),
    "customer tax scheme is known": case(
        Customer,
        "tax_ids.0.scheme",
        "de_steuernummer",
        ("tax_ids", 0),
        "unknown tax identifier scheme",
    ),
    "customer from another major schema version": case(
        Customer, "schema_version", "2.0", ("schema_version",), "not readable by this release"
    ),
    # Legal entity
    "legal entity invoices on a day every month has": case(
        LegalEntity, "invoicing_day", 31, ("invoicing_day",), "less than or equal to 28"
    ),
    "legal entity names its ERP company": case(
        LegalEntity, "erp_company", "", ("erp_company",), "at least 1 character"
    ),
    "legal entity currency is ISO 4217": case(
        LegalEntity, "functional_currency", "EURO", ("functional_currency",), "pattern"
    ),
    "legal entity payment terms within a year": case(
        LegalEntity,
        "default_payment_terms_days",
        400,
        ("default_payment_terms_days",),
        "less than or equal to 365",
    ),
    # Billing milestone
    "milestone needs a date or a trigger": case(
        BillingMilestone, "due_date", None, (), "needs a due_date or a trigger"
    ),
    "milestone amount is not negative": case(
        BillingMilestone, "amount", usd("-1.00"), (), "negative amount"
    ),
    "milestone status is in its lifecycle": case(
        BillingMilestone, "status", "paid", ("status",), "'planned', 'ready' or 'invoiced'"
    ),
    # Contract line
    "line billing model is known": case(
        ContractLine,
        "billing.model",
        "barter",
        ("billing",),
        "does not match any of the expected tags",
    ),
    "line fixed fee is not negative": case(
        ContractLine,
        "billing.amount",
        usd("-500.00"),
        ("billing", "fixed_fee"),
        "fixed fee amount is negative",
    ),
    "line needs a service code": case(
        ContractLine, "service_code", "", ("service_code",), "pattern"
    ),
    "line term ends after it starts": case(
        ContractLine,
        "term",
        {"start": "2025-02-01", "end": "2025-01-01"},
        ("term",),
        "before its start",
    ),
    "line milestone ids are unique": case(
        ContractLine,
        "billing.milestones",
        [MILESTONE, MILESTONE],
        ("billing", "fixed_fee"),
        "milestone ids repeat",
    ),
    # Rate and rate card
    "rate range is ordered": case(
        Rate, "effective_to", "2024-12-31", (), "effective_to is before effective_from"
    ),
    "rate is not negative": case(Rate, "hourly", usd("-1.00"), (), "rate for engineer is negative"),
    "rate card rates share its currency": case(
        RateCard,
        "rates.0.hourly",
        {"amount": "150.00", "currency": "EUR"},
        (),
        "rate for engineer is in EUR, the card is in USD",
    ),
    "rate card ranges never overlap": case(
        RateCard,
        "rates",
        [RATE, {**RATE, "effective_from": "2025-06-01"}],
        (),
        "overlap from 2025-06-01",
    ),
    # Contract
    "contract status is in its lifecycle": case(
        Contract, "status", "signed", ("status",), "'draft', 'in_review'"
    ),
    "contract version counts from 1": case(
        Contract, "version", 0, ("version",), "greater than or equal to 1"
    ),
    "contract tax treatment is known": case(
        Contract, "tax_treatment", "vat_free", ("tax_treatment",), "'domestic_vat'"
    ),
    "contract line ids are unique": case(Contract, "lines", [LINE, LINE], (), "line ids repeat"),
    "contract lines run inside its term": case(
        Contract,
        "lines.0.term",
        {"start": "2024-12-01", "end": "2025-01-31"},
        (),
        "line L1 runs outside the contract term",
    ),
    "contract rate card ids are unique": case(
        Contract, "rate_cards", [RATE_CARD, RATE_CARD], (), "rate card ids repeat"
    ),
    "contract term ends after it starts": case(
        Contract, "term.end", "2024-12-31", ("term",), "before its start"
    ),
    "contract t&m cap is not negative": case(
        Contract,
        "lines.1.billing.cap",
        usd("-1.00"),
        ("lines", 1, "billing", "time_and_materials"),
        "cap is negative",
    ),
    "contract t&m hours are positive": case(
        Contract,
        "lines.1.billing.estimate.0.hours",
        "0",
        ("lines", 1, "billing", "time_and_materials", "estimate", 0, "hours"),
        "greater than 0",
    ),
    # Obligation
    "payment terms need days": case(Obligation, "days", None, (), "needs 'days'"),
    "sla credit needs a percent": case(Obligation, "kind", "sla_credit", (), "needs 'percent'"),
    "obligation percent is at most 100": case(
        Obligation, "percent", "120", ("percent",), "less than or equal to 100"
    ),
    "obligation kind is known": case(Obligation, "kind", "penalty", ("kind",), "'payment_terms'"),
    # Amendment
    "amendment n applies to version n": case(
        Amendment, "base_version", 2, (), "must apply to contract version 1"
    ),
    "amendment carries at least one change": case(
        Amendment, "changes", [], ("changes",), "at least 1 item"
    ),
    "amendment sequence counts from 1": case(
        Amendment, "sequence", 0, ("sequence",), "greater than or equal to 1"
    ),
    "amendment change kind is known": case(
        Amendment,
        "changes.0",
        {"kind": "rename"},
        ("changes", 0),
        "does not match any of the expected tags",
    ),
    "rate change names a role": case(
        Amendment,
        "changes.0",
        {
            "kind": "rate_change",
            "rate_card_id": "RC1",
            "role": "",
            "hourly": usd("1.00"),
            "effective_from": "2025-06-01",
        },
        ("changes", 0, "rate_change", "role"),
        "at least 1 character",
    ),
    # External ref, finding, project, exception item
    "external system name is lower case": case(
        ExternalRef, "system", "Sales Force", ("system",), "pattern"
    ),
    "external id is not empty": case(ExternalRef, "id", "", ("id",), "at least 1 character"),
    "finding code is dotted snake case": case(
        Finding, "code", "MilestonesWrong", ("code",), "pattern"
    ),
    "finding owner is a known role": case(
        Finding, "owner", "cfo", ("owner",), "'legal', 'finance'"
    ),
    "project status is in its lifecycle": case(
        Project, "status", "paused", ("status",), "'staged', 'active' or 'closed'"
    ),
    "exception sla is timezone-aware": case(
        ExceptionItem, "sla_due", "2025-06-02T09:00:00", ("sla_due",), "timezone info"
    ),
    "exception code is dotted snake case": case(ExceptionItem, "code", "ERP", ("code",), "pattern"),
    # Schedules, plans, decisions
    "billing schedule entries share its currency": case(
        BillingSchedule,
        "entries.0.amount",
        {"amount": "500.00", "currency": "EUR"},
        (),
        "entry for L1 is not in USD",
    ),
    "billing schedule version counts from 1": case(
        BillingSchedule, "contract_version", 0, ("contract_version",), "greater than or equal to 1"
    ),
    "revenue method is known": case(
        RevenueSchedule,
        "entries.0.method",
        "monthly",
        ("entries", 0, "method"),
        "'point_in_time', 'ratable' or 'as_incurred'",
    ),
    "plan never goes back a version": case(
        AmendmentPlan, "to_version", 0, ("to_version",), "greater than or equal to 1"
    ),
    "plan impact delta adds up": case(
        AmendmentPlan,
        "impact.delta",
        usd("11.00"),
        ("impact",),
        "delta is not value_after - value_before",
    ),
    "routed decision names an owner": case(PolicyDecision, "owner", None, (), "names no owner"),
    "term is ordered": case(Term, "end", "2024-01-01", (), "before its start"),
}


@pytest.mark.parametrize("model", list(BASES), ids=lambda model: model.__name__)
def test_every_base_payload_is_valid_so_each_case_breaks_one_rule(model: type[BaseModel]) -> None:
    model.model_validate(BASES[model])


@pytest.mark.parametrize("invalid", list(CASES.values()), ids=list(CASES))
def test_invalid_input_is_refused_naming_the_field_and_the_rule_broken(invalid: Invalid) -> None:
    with pytest.raises(ValidationError) as info:
        invalid.model.model_validate(invalid.data)
    errors = [(error["loc"], error["msg"]) for error in info.value.errors()]
    assert any(loc == invalid.loc and invalid.msg in msg for loc, msg in errors), errors


def test_the_table_covers_at_least_thirty_cases_and_every_entity() -> None:
    assert len(CASES) >= 30
    assert {invalid.model for invalid in CASES.values()} == set(BASES)
