"""Pure mapping between the canonical model and NetSuite records (no I/O).

The field map is in ``docs/systems.md`` (NetSuite). Every record the hub writes is keyed by an
``externalId`` from ``external_id``; reading back (``contract_from_order``) starts from the
contract as pushed and takes what a person can edit in NetSuite from the live records.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from contractsync.adapters.netsuite.config import NetSuiteFieldNames
from contractsync.adapters.netsuite.payloads import (
    AccountingPeriod,
    BillingScheduleRecord,
    CustomerRecord,
    InvoiceRecord,
    JobRecord,
    SalesOrderRecord,
)
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import FixedFee
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingEntry, BillingSchedule
from contractsync.domain.tax import TaxIdentifier
from contractsync.errors import DataError

CUSTOMER, JOB, TASK = "customer", "job", "projecttask"
ORDER, SCHEDULE, INVOICE = "salesOrder", "billingSchedule", "invoice"
_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
_ESCAPE = re.compile(r"_([0-9A-F]{2})")


def external_id(*parts: str) -> str:
    """A NetSuite externalId for canonical key parts.

    NetSuite allows letters, digits, ``_`` and ``-``; every other character (``.``, ``:``,
    and ``_`` itself) becomes ``_XX`` (hex), and parts are joined by ``__``, which no escaped
    part contains, so distinct keys never share an externalId.
    """
    return "__".join(_UNSAFE.sub(lambda m: f"_{ord(m.group()):02X}", part) for part in parts)


def canonical_id(external: str) -> str:
    """The canonical id an externalId of one part stands for (``external_id`` reversed)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), external)


def _ref(record_id: str) -> dict[str, str]:
    return {"id": record_id}


def _amount(money: Money) -> float:
    # JSON numbers: NetSuite stores currency amounts with the currency's minor units.
    return float(money.amount)


def customer_body(
    customer: Customer, *, subsidiary_id: str, currency_id: str, names: NetSuiteFieldNames
) -> dict[str, Any]:
    """The customer fields to upsert (send with ``replace=addressBook``)."""
    address: dict[str, Any] = {"country": {"id": customer.billing_country}}
    if customer.billing_region:
        address["state"] = customer.billing_region.split("-", 1)[1]
    vat = customer.vat_registration_in(customer.billing_country)
    return {
        "companyName": customer.legal_name,
        "isPerson": not customer.is_business,
        "subsidiary": _ref(subsidiary_id),
        "currency": _ref(currency_id),
        "vatRegNumber": vat.value if vat else None,
        names.customer_tax_ids: ";".join(f"{t.scheme}:{t.value}" for t in customer.tax_ids) or None,
        "addressBook": {
            "items": [
                {
                    "defaultBilling": True,
                    "defaultShipping": True,
                    "label": "Billing",
                    "addressBookAddress": address,
                }
            ]
        },
    }


def customer_from_record(record: CustomerRecord, *, system: str) -> Customer:
    """The canonical customer a NetSuite customer stands for.

    Raises:
        DataError: ``netsuite.customer_unmappable`` naming what is missing or invalid.
    """
    try:
        tax_ids = tuple(
            TaxIdentifier(scheme=s.strip(), value=v.strip())
            for s, _, v in (
                p.partition(":") for p in (record.tax_ids or "").split(";") if p.strip()
            )
        )
        return Customer(
            id=canonical_id(record.external_id or f"ns-{record.id}"),
            legal_name=record.company_name,
            billing_country=record.country or "",
            billing_region=f"{record.country}-{record.state}" if record.state else None,
            is_business=not record.is_person,
            tax_ids=tax_ids,
            refs=(ExternalRef(system=system, kind=CUSTOMER, id=record.id),) if record.id else (),
        )
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        raise DataError(
            f"NetSuite customer {record.id} ({record.company_name}) cannot be read as a "
            f"customer: {exc.errors()[0]['msg']}.",
            code="netsuite.customer_unmappable",
            remediation="Correct the customer's billing address or tax ids in NetSuite, then retry.",
            detail={"id": record.id, "fields": fields},
        ) from None


def job_body(
    project: Project, contract: Contract, *, customer_id: str, names: NetSuiteFieldNames
) -> dict[str, Any]:
    """The project (job) fields to upsert."""
    return {
        "companyName": project.name,
        "parent": _ref(customer_id),
        "startDate": contract.term.start.isoformat(),
        "projectedEndDate": contract.term.end.isoformat(),
        names.job_contract: contract.id,
    }


def closed_job_body(status_id: str) -> dict[str, Any]:
    """The project (job) fields that close it: its status, the account's 'Closed' one."""
    return {"entityStatus": _ref(status_id)}


def is_closed_job(job: JobRecord, status_id: str) -> bool:
    """True when the job's status is the account's 'Closed' project status."""
    return job.entity_status is not None and job.entity_status.id == status_id


def milestone_tasks(
    contract: Contract, *, job_id: str, names: NetSuiteFieldNames
) -> list[tuple[str, dict[str, Any]]]:
    """(externalId, fields) of one project task per billing milestone."""
    tasks = []
    for _line, milestone in contract.milestones():
        body: dict[str, Any] = {
            "title": milestone.name,
            "company": _ref(job_id),
            "plannedWork": 0,
            names.task_milestone: milestone.id,
        }
        if milestone.due_date is not None:
            body["finishByDate"] = milestone.due_date.isoformat()
        tasks.append((external_id(contract.id, milestone.id), body))
    return tasks


def entry_key(entry: BillingEntry) -> str:
    """The invoice key of a schedule entry: its milestone id, else ``<line>:<period start>``."""
    return entry.milestone_id or f"{entry.line_id}:{entry.period_start.isoformat()}"


def billing_schedule_body(
    contract: Contract, schedule: BillingSchedule, *, names: NetSuiteFieldNames
) -> dict[str, Any]:
    """The billing schedule fields to upsert (send with ``replace=milestone``)."""
    return {
        "name": f"{contract.id} v{contract.version}",
        "scheduleType": {"id": "MILESTONE"},
        "milestone": {
            "items": [
                {
                    "milestoneDate": e.invoice_date.isoformat(),
                    "milestoneAmount": _amount(e.amount),
                    "comments": e.description,
                    names.schedule_key: entry_key(e),
                }
                for e in schedule.entries
            ]
        },
    }


def sales_order_body(
    contract: Contract,
    schedule: BillingSchedule,
    *,
    customer_id: str,
    job_id: str | None,
    schedule_id: str,
    currency_id: str,
    item_for: Callable[[str], str],
    names: NetSuiteFieldNames,
) -> dict[str, Any]:
    """The sales order fields to upsert (send with ``replace=item``).

    A line's amount is its scheduled total (a fixed fee without entries: its amount).
    """
    totals: dict[str, Money] = {}
    for entry in schedule.entries:
        totals[entry.line_id] = (
            totals.get(entry.line_id, Money.zero(contract.currency)) + entry.amount
        )
    lines = []
    for line in contract.lines:
        fallback = line.billing.amount if isinstance(line.billing, FixedFee) else None
        amount = totals.get(line.id, fallback or Money.zero(contract.currency))
        lines.append(
            {
                "item": _ref(item_for(line.service_code)),
                "description": line.description,
                "amount": _amount(amount),
                names.line_key: line.id,
            }
        )
    body: dict[str, Any] = {
        "entity": _ref(customer_id),
        "currency": _ref(currency_id),
        "tranDate": contract.term.start.isoformat(),
        "startDate": contract.term.start.isoformat(),
        "endDate": contract.term.end.isoformat(),
        "memo": contract.title,
        "otherRefNum": contract.id,
        "billingSchedule": _ref(schedule_id),
        names.order_contract: contract.id,
        names.order_version: contract.version,
        names.order_basis: contract.model_dump_json(),
        "item": {"items": lines},
    }
    if job_id is not None:
        body["job"] = _ref(job_id)
    return body


def invoice_body(
    contract_id: str,
    invoice_key: str,
    amount: Money,
    *,
    order_id: str,
    customer_id: str,
    currency_id: str,
    item_id: str,
    day: dt.date,
    names: NetSuiteFieldNames,
) -> dict[str, Any]:
    """The invoice fields: one line billing ``amount`` for ``invoice_key`` of the order."""
    return {
        "entity": _ref(customer_id),
        "createdFrom": _ref(order_id),
        "currency": _ref(currency_id),
        "tranDate": day.isoformat(),
        "memo": f"{contract_id} {invoice_key}",
        "otherRefNum": contract_id,
        names.order_contract: contract_id,
        names.invoice_key: invoice_key,
        "item": {
            "items": [
                {"item": _ref(item_id), "description": invoice_key, "amount": _amount(amount)}
            ]
        },
    }


def contract_from_order(
    order: SalesOrderRecord, schedule: BillingScheduleRecord | None
) -> Contract:
    """The contract as NetSuite holds it: the pushed contract with NetSuite's edits applied.

    Raises:
        DataError: ``netsuite.contract_unreadable`` when the order holds no pushed contract
            or the edited values no longer make a valid contract.
    """
    try:
        basis = Contract.model_validate_json(order.basis or "")
        data = basis.model_dump(mode="json")
        data["title"] = order.memo or basis.title
        if order.start_date and order.end_date:
            data["term"] = {
                "start": order.start_date.isoformat(),
                "end": order.end_date.isoformat(),
            }
        amounts = {line.key: line.amount for line in order.lines if line.key}
        dated = {m.key: m for m in (schedule.milestones if schedule else []) if m.key}
        for line in data["lines"]:
            billing = line["billing"]
            if billing["model"] != "fixed_fee":
                continue
            if line["id"] in amounts:
                billing["amount"]["amount"] = str(amounts[line["id"]])
            for milestone in billing["milestones"]:
                if milestone["id"] in dated:
                    milestone["amount"]["amount"] = str(dated[milestone["id"]].milestone_amount)
                    if milestone["due_date"] is not None:  # a triggered one is only forecast
                        milestone["due_date"] = dated[milestone["id"]].milestone_date.isoformat()
        return Contract.model_validate(data)
    except (ValidationError, ValueError) as exc:
        raise DataError(
            f"NetSuite sales order {order.id} does not hold a readable contract.",
            code="netsuite.contract_unreadable",
            remediation="Push the contract again from the hub, or correct the amounts and "
            "dates edited in NetSuite, then retry.",
            detail={"id": order.id, "reason": str(exc)[:300]},
        ) from None


def invoiced_milestone_ids(contract: Contract, invoices: Iterable[InvoiceRecord]) -> frozenset[str]:
    """The contract's milestones that an invoice was created for."""
    milestones = {m.id for _, m in contract.milestones()}
    return frozenset(i.key for i in invoices if i.key in milestones)


def closed_through(periods: Iterable[AccountingPeriod]) -> dt.date | None:
    """The last day of the last closed (non-adjustment) period, if any is closed."""
    ends = [p.end_date for p in periods if p.closed and not p.is_adjust]
    return max(ends) if ends else None


__all__ = [
    "CUSTOMER",
    "INVOICE",
    "JOB",
    "ORDER",
    "SCHEDULE",
    "TASK",
    "billing_schedule_body",
    "canonical_id",
    "closed_job_body",
    "closed_through",
    "contract_from_order",
    "customer_body",
    "customer_from_record",
    "entry_key",
    "external_id",
    "invoice_body",
    "invoiced_milestone_ids",
    "is_closed_job",
    "job_body",
    "milestone_tasks",
    "sales_order_body",
]
