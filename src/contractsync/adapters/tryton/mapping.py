"""Pure translations between canonical records and Tryton values: parties, works, snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from contractsync.adapters.tryton.payloads import (
    PartyRow,
    PartyValues,
    ProductSpec,
    WorkRow,
    WorkSpec,
    identifier_values,
)
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, TimeAndMaterials
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.milestone import BillingMilestone, MilestoneStatus
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.tax import EU_COUNTRIES, TaxIdentifier
from contractsync.errors import DataError

SERVICES_CATEGORY = "Contractsync services"
"""Name of the accounting product category provisioning creates for the hub's products."""

CONTRACT_ATTACHMENT = "contractsync-contract.json"
"""Name of the attachment on a contract's project holding the contract the hub last pushed."""

KEY_PREFIX = "contractsync:"
"""Start of every marker the hub keeps in a Tryton text field."""

Task = tuple[str, str, Decimal]
"""One project task as (code, name, fixed amount): a billing milestone in Tryton terms."""

# Tryton 8.2 files these stdnum schemes under "<country>_vat" (party.replace_vat).
_TRYTON_VAT_RENAMED = frozenset(
    {"au_abn", "br_cnpj", "ca_bn", "in_gstin", "jp_cn", "mx_rfc", "no_mva", "nz_ird", "sg_uen"}
)
_SCHEME_OF_TYPE = {s.split("_", 1)[0] + "_vat": s for s in _TRYTON_VAT_RENAMED}
_VAT_PREFIX = {"GR": "EL"}  # the EU VAT number of Greece starts with EL, not its ISO code


def identifier_type(tax_id: TaxIdentifier) -> str:
    """Return the ``party.identifier`` type Tryton uses for a contractsync tax scheme."""
    if tax_id.scheme in _TRYTON_VAT_RENAMED:
        return tax_id.scheme.split("_", 1)[0] + "_vat"
    return tax_id.scheme


def tax_identifier(kind: str, code: str) -> TaxIdentifier | None:
    """Return the canonical tax identifier of a Tryton ``(type, code)``, or None if foreign.

    A national EU VAT type typed by hand (``de_vat``) reads as ``eu_vat`` with its prefix;
    types contractsync has no scheme for, and numbers that do not validate, read as None.
    """
    scheme = _SCHEME_OF_TYPE.get(kind, kind)
    country = kind[:2].upper()
    if kind.endswith("_vat") and country in EU_COUNTRIES and kind != "eu_vat":
        prefix = _VAT_PREFIX.get(country, country)
        scheme, code = "eu_vat", code if code.upper().startswith(prefix) else prefix + code
    try:
        return TaxIdentifier(scheme=scheme, value=code)
    except ValidationError:
        return None


def party_values(customer: Customer) -> PartyValues:
    """Return the party values of a customer: canonical id as code, tax ids, billing country."""
    identifiers = tuple((identifier_type(t), t.value) for t in customer.tax_ids)
    return PartyValues(customer.id, customer.legal_name, identifiers, customer.billing_country)


def party_changes(wanted: PartyValues, party: PartyRow) -> dict[str, Any]:
    """Return the ``write`` values that bring ``party`` in line with ``wanted`` (empty if none).

    The hub renames the party and adds missing tax identifiers; identifiers and addresses
    added in Tryton by hand are kept.
    """
    changes: dict[str, Any] = {}
    if party.name != wanted.name:
        changes["name"] = wanted.name
    have = {tax_identifier(kind, code) for kind, code in party.identifiers}
    missing = [i for i in wanted.identifiers if tax_identifier(*i) not in have]
    if missing:
        changes["identifiers"] = [["create", [identifier_values(i) for i in missing]]]
    return changes


def customer_from_party(party: PartyRow) -> Customer:
    """Return the customer a party stands for (the first address country is the billing one).

    Raises:
        DataError: the party has no code or no address country, so it cannot be a customer.
    """
    if not party.code or not party.countries:
        raise DataError(
            f"Tryton party {party.name!r} has no code or no address country.",
            code="tryton.unmappable_party",
            detail={"party": party.id},
        )
    found = (tax_identifier(kind, code) for kind, code in party.identifiers)
    unique = {(t.scheme, t.country): t for t in found if t is not None}
    return Customer(
        id=party.code,
        legal_name=party.name,
        billing_country=party.countries[0],
        tax_ids=tuple(unique.values()),
    )


def company_domain(entity: LegalEntity) -> list[Any]:
    """Return the ``company.company`` search domain for a legal entity's ``erp_company``.

    The key is the code of the company's party, or the company's numeric id.
    """
    if entity.erp_company.isdigit():
        return ["OR", ("party.code", "=", entity.erp_company), ("id", "=", int(entity.erp_company))]
    return [("party.code", "=", entity.erp_company)]


def record_key(kind: str, code: str) -> str:
    """Return the marker that names a hub record in a Tryton text field.

    Tryton has no external-id field on projects, tasks, timesheet lines or invoices, so the
    hub's code is kept in a text field in this exact form (see ADR 0002).
    """
    return f"{KEY_PREFIX}{kind}:{code}"


def invoice_reference(contract_id: str, invoice_key: str) -> str:
    """Return the marker kept in ``account.invoice.reference`` for one invoice key."""
    return record_key("invoice", f"{contract_id}/{invoice_key}")


def timesheet_description(text: str, key: str) -> str:
    """Return a timesheet line description that ends with the line's hub key."""
    marker = f"[{record_key('timesheet', key)}]"
    return f"{text} {marker}" if text else marker


def like_suffix(key: str) -> str:
    """Return a LIKE pattern matching descriptions made by ``timesheet_description``."""
    marker = f"[{record_key('timesheet', key)}]"
    escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}"


def milestone_tasks(milestones: Sequence[BillingMilestone]) -> list[Task]:
    """Return one task per billing milestone: its id as code, its name and amount."""
    return [(m.id, m.name, m.amount.amount) for m in milestones]


def _role_tasks(
    contract: Contract, line: ContractLine, billing: TimeAndMaterials
) -> list[WorkSpec]:
    card = contract.rate_card(billing.rate_card_id)
    if card is None:
        raise DataError(
            f"Line {line.id} names rate card {billing.rate_card_id}, which the contract lacks.",
            code="tryton.unknown_rate_card",
        )
    start = contract.line_term(line).start
    product = ProductSpec(f"{line.service_code}-h", line.service_code, "h")
    tasks: dict[str, WorkSpec] = {}
    for rate in sorted(card.rates, key=lambda r: (not r.applies_on(start), r.effective_from)):
        key = record_key("role", f"{line.id}/{rate.role}")
        tasks.setdefault(rate.role, WorkSpec(key, rate.role, "task", product, rate.hourly.amount))
    return list(tasks.values())


def contract_works(contract: Contract, *, name: str | None = None) -> WorkSpec:
    """Return the Tryton works of a contract: one project with a task per billing milestone.

    The project (code = contract id) is invoiced on effort: a milestone task at progress 1
    is billed once at its fixed price. Its timesheet dates hold the contract term. Each
    time-and-materials line becomes a sub-project invoiced on timesheets with one task per
    rate-card role at the role's hourly rate; its ``invoice up to`` date is set before the
    line starts because the hub bills T&M periods itself (capped), never Tryton's button.
    Retainer and subscription lines have no work: they are billed by period invoices.
    """
    children: list[WorkSpec] = []
    for line in contract.lines:
        billing = line.billing
        if isinstance(billing, FixedFee):
            product = ProductSpec(line.service_code, line.service_code, "u")
            children += [
                WorkSpec(record_key("task", m.id), m.name, "task", product, m.amount.amount)
                for m in billing.milestones
            ]
        elif isinstance(billing, TimeAndMaterials):
            term = contract.line_term(line)
            children.append(
                WorkSpec(
                    record_key("line", line.id),
                    line.description,
                    "project",
                    invoice_method="timesheet",
                    invoice_up_to=term.start - timedelta(days=1),
                    children=tuple(_role_tasks(contract, line, billing)),
                )
            )
    return WorkSpec(
        record_key("project", contract.id),
        name or contract.title,
        "project",
        invoice_method="effort",
        timesheet_dates=(contract.term.start, contract.term.end),
        children=tuple(children),
    )


def work_changes(spec: WorkSpec, work: WorkRow) -> dict[str, Any]:
    """Return the ``write`` values that bring an existing work in line with ``spec``.

    An invoiced work keeps its price: Tryton billed it at that price already.
    """
    changes: dict[str, Any] = {}
    if work.name != spec.name:
        changes["name"] = spec.name
    if spec.list_price is not None and not work.is_invoiced and work.list_price != spec.list_price:
        changes["list_price"] = spec.list_price
    if spec.timesheet_dates is not None and work.timesheet_dates != spec.timesheet_dates:
        changes["timesheet_start_date"], changes["timesheet_end_date"] = spec.timesheet_dates
    return changes


def invoiced_milestone_ids(works: Iterable[WorkRow]) -> frozenset[str]:
    """Return the ids of the milestones whose task Tryton has invoiced."""
    prefix = record_key("task", "")
    return frozenset(
        w.key[len(prefix) :] for w in works if w.key.startswith(prefix) and w.is_invoiced
    )


def _milestones_as_held(billing: FixedFee, tasks: Mapping[str, WorkRow], currency: str) -> FixedFee:
    held: list[BillingMilestone] = []
    for milestone in billing.milestones:
        task = tasks.get(record_key("task", milestone.id))
        if task is None:
            continue  # the task was deleted in Tryton: the ERP no longer has this milestone
        price = task.list_price if task.list_price is not None else Decimal(0)
        update: dict[str, Any] = {"name": task.name, "amount": Money.of(price, currency)}
        if task.is_invoiced:
            update["status"] = MilestoneStatus.INVOICED
        held.append(milestone.model_copy(update=update))
    before = sum((m.amount.amount for m in billing.milestones), Decimal(0))
    after = sum((m.amount.amount for m in held), Decimal(0))
    amount = Money.of(billing.amount.amount - before + after, currency)
    return billing.model_copy(update={"milestones": tuple(held), "amount": amount})


def contract_from_works(basis: Contract, project: WorkRow, works: Sequence[WorkRow]) -> Contract:
    """Return the contract as Tryton holds it: ``basis`` (what the hub pushed) with hand edits.

    Read from Tryton: the customer (the project's party code), the term (the project's
    timesheet dates), and each milestone's name and amount (its task's name and price, or
    its absence when the task was deleted). Everything Tryton has no field for is
    ``basis``'s. Tasks added in Tryton without a hub marker are not contract terms.

    Raises:
        DataError: the edited values no longer make a valid contract.
    """
    tasks = {w.key: w for w in works if w.parent == project.id}
    currency = basis.currency
    lines = []
    for line in basis.lines:
        if isinstance(line.billing, FixedFee):
            line = line.model_copy(
                update={"billing": _milestones_as_held(line.billing, tasks, currency)}
            )
        lines.append(line)
    update: dict[str, Any] = {"lines": tuple(lines)}
    if project.party_code:
        update["customer_id"] = project.party_code
    if project.timesheet_dates is not None:
        update["term"] = Term(start=project.timesheet_dates[0], end=project.timesheet_dates[1])
    try:
        return Contract.model_validate({**basis.model_dump(), **update})
    except ValidationError as exc:
        raise DataError(
            f"Contract {basis.id} as edited in Tryton is no longer valid: {exc.errors()[0]['msg']}",
            code="tryton.unmappable_contract",
            detail={"contract": basis.id},
        ) from exc


def closed_through(periods: Iterable[Mapping[str, Any]]) -> date | None:
    """Return the last day of the latest closed accounting period among ``account.period`` rows."""
    ends = [p["end_date"] for p in periods if p.get("state") == "closed"]
    return max(ends) if ends else None


def contract_document(contract: Contract) -> bytes:
    """Return the contract as the JSON the hub stores on its project."""
    return contract.model_dump_json().encode()


def contract_from_document(data: bytes) -> Contract:
    """Return the contract stored by ``contract_document``.

    Raises:
        DataError: the attachment was edited into something that is not a contract.
    """
    try:
        return Contract.model_validate_json(data)
    except ValidationError as exc:
        raise DataError(
            "The contract attachment on the Tryton project is not a contract.",
            code="tryton.unmappable_contract",
        ) from exc
