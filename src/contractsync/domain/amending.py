"""Applying typed changes to a contract version: pure, all-or-nothing, and strict.

A change that does not fit (an unknown line, a milestone already gone, a rate card in the
wrong currency) raises :class:`AmendmentError` and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from contractsync.domain.amendment import (
    Amendment,
    CapChange,
    Change,
    LegalEntityChange,
    MilestoneAdd,
    MilestoneRemove,
    MilestoneReprice,
    MilestoneReschedule,
    RateCardReplace,
    RateChange,
    ScopeLineAdd,
    ScopeLineChange,
    ScopeLineRemove,
    TermChange,
)
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, TimeAndMaterials
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.errors import AmendmentError


def apply_amendment(contract: Contract, amendment: Amendment) -> Contract:
    """Return the next version of ``contract`` with ``amendment`` applied.

    Raises:
        AmendmentError: if the amendment belongs to another contract, targets another
            version, or one of its changes does not fit.
    """
    if amendment.contract_id != contract.id:
        raise AmendmentError(
            f"amendment {amendment.id} is for contract {amendment.contract_id}, not {contract.id}"
        )
    if amendment.base_version != contract.version:
        raise AmendmentError(
            f"amendment {amendment.id} applies to version {amendment.base_version}; "
            f"contract {contract.id} is at version {contract.version}",
            code="amendment.out_of_order",
            remediation="Apply the earlier amendments first; amendments apply in sequence.",
            detail={"expected_version": amendment.base_version, "actual_version": contract.version},
        )
    amended = apply_changes(contract, amendment.changes)
    return amended.model_copy(update={"version": contract.version + 1})


def apply_changes(contract: Contract, changes: Iterable[Change]) -> Contract:
    """Apply ``changes`` in order and return the result, revalidated as a whole.

    The version number is left alone; :func:`apply_amendment` bumps it.

    Raises:
        AmendmentError: if a change does not fit, or the result breaks a contract invariant.
    """
    current = contract
    for change in changes:
        data = _APPLY[type(change)](current, change)
        current = _revalidate(data)
    return current


def _revalidate(data: dict[str, Any]) -> Contract:
    try:
        # Parts built with model_copy skip validation (a negative reprice, a negative cap), so
        # the whole document is validated again from plain data, not from those instances.
        return Contract.model_validate(_plain(data))
    except ValidationError as exc:
        raise AmendmentError(
            f"the amended contract would be invalid: {exc.errors()[0]['msg']}",
            detail={"errors": [e["msg"] for e in exc.errors()]},
        ) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _dump(contract: Contract) -> dict[str, Any]:
    return contract.model_dump(mode="python")


def _require_currency(contract: Contract, amounts: Iterable[Money], what: str) -> None:
    # The contract model does not itself forbid a foreign amount, and the fixed-fee arithmetic
    # below adds raw Decimals, so a EUR milestone on a USD contract must be stopped here.
    for amount in amounts:
        if amount.currency != contract.currency:
            raise AmendmentError(
                f"{what} is in {amount.currency}; contract {contract.id} is in {contract.currency}",
                code="amendment.wrong_currency",
                detail={"expected": contract.currency, "actual": amount.currency},
            )


def _require_line(contract: Contract, line_id: str) -> ContractLine:
    line = contract.line(line_id)
    if line is None:
        raise AmendmentError(
            f"contract {contract.id} has no line {line_id}", detail={"line": line_id}
        )
    return line


def _require_fixed_fee(contract: Contract, line_id: str) -> tuple[ContractLine, FixedFee]:
    line = _require_line(contract, line_id)
    if not isinstance(line.billing, FixedFee):
        raise AmendmentError(
            f"line {line_id} is {line.model}, milestones belong to fixed-fee lines"
        )
    return line, line.billing


def _require_milestone(fee: FixedFee, line_id: str, milestone_id: str) -> BillingMilestone:
    milestone = fee.milestone(milestone_id)
    if milestone is None:
        raise AmendmentError(f"line {line_id} has no milestone {milestone_id}")
    return milestone


def _replace_line(contract: Contract, line: ContractLine) -> dict[str, Any]:
    data = _dump(contract)
    data["lines"] = [line if existing.id == line.id else existing for existing in contract.lines]
    return data


def _with_milestones(
    contract: Contract, line: ContractLine, fee: FixedFee, milestones: list[BillingMilestone]
) -> dict[str, Any]:
    """Replace the line's milestones; the fixed amount moves by the change in their sum."""
    before = sum((m.amount.amount for m in fee.milestones), start=0)
    after = sum((m.amount.amount for m in milestones), start=0)
    amount = Money(amount=fee.amount.amount + after - before, currency=fee.amount.currency)
    if amount.is_negative:
        raise AmendmentError(f"line {line.id} fixed amount would fall below zero ({amount})")
    # Validated by _revalidate with the rest of the contract, so a bad milestone raises
    # AmendmentError rather than a bare ValidationError.
    billing = fee.model_copy(update={"amount": amount, "milestones": tuple(milestones)})
    return _replace_line(contract, line.model_copy(update={"billing": billing}))


def _rate_change(contract: Contract, change: RateChange) -> dict[str, Any]:
    card = contract.rate_card(change.rate_card_id)
    if card is None:
        raise AmendmentError(f"contract {contract.id} has no rate card {change.rate_card_id}")
    if change.hourly.currency != card.currency:
        raise AmendmentError(
            f"rate card {card.id} is in {card.currency}, not {change.hourly.currency}"
        )
    updated = card.with_rate(change.role, change.hourly, change.effective_from)
    data = _dump(contract)
    data["rate_cards"] = [updated if c.id == card.id else c for c in contract.rate_cards]
    return data


def _milestone_add(contract: Contract, change: MilestoneAdd) -> dict[str, Any]:
    line, fee = _require_fixed_fee(contract, change.line_id)
    _require_currency(contract, [change.milestone.amount], f"milestone {change.milestone.id}")
    if any(m.id == change.milestone.id for _, m in contract.milestones()):
        raise AmendmentError(f"milestone {change.milestone.id} already exists")
    return _with_milestones(contract, line, fee, [*fee.milestones, change.milestone])


def _milestone_remove(contract: Contract, change: MilestoneRemove) -> dict[str, Any]:
    line, fee = _require_fixed_fee(contract, change.line_id)
    _require_milestone(fee, line.id, change.milestone_id)
    kept = [m for m in fee.milestones if m.id != change.milestone_id]
    return _with_milestones(contract, line, fee, kept)


def _milestone_reschedule(contract: Contract, change: MilestoneReschedule) -> dict[str, Any]:
    line, fee = _require_fixed_fee(contract, change.line_id)
    _require_milestone(fee, line.id, change.milestone_id)
    moved = [
        m.model_copy(update={"due_date": change.due_date}) if m.id == change.milestone_id else m
        for m in fee.milestones
    ]
    return _with_milestones(contract, line, fee, moved)


def _milestone_reprice(contract: Contract, change: MilestoneReprice) -> dict[str, Any]:
    line, fee = _require_fixed_fee(contract, change.line_id)
    _require_milestone(fee, line.id, change.milestone_id)
    _require_currency(contract, [change.amount], f"milestone {change.milestone_id}")
    repriced = [
        m.model_copy(update={"amount": change.amount}) if m.id == change.milestone_id else m
        for m in fee.milestones
    ]
    return _with_milestones(contract, line, fee, repriced)


def _term_change(contract: Contract, change: TermChange) -> dict[str, Any]:
    if change.end < contract.term.start:
        raise AmendmentError(f"new end {change.end} is before the contract start")
    old_end = contract.term.end
    data = _dump(contract)
    data["term"] = Term(start=contract.term.start, end=change.end)
    lines = []
    for line in contract.lines:
        if line.term is not None and (line.term.end == old_end or line.term.end > change.end):
            if line.term.start > change.end:
                raise AmendmentError(f"line {line.id} would start after the new end {change.end}")
            line = line.model_copy(update={"term": Term(start=line.term.start, end=change.end)})
        lines.append(line)
    data["lines"] = lines
    return data


def _cap_change(contract: Contract, change: CapChange) -> dict[str, Any]:
    line = _require_line(contract, change.line_id)
    if not isinstance(line.billing, TimeAndMaterials):
        raise AmendmentError(f"line {line.id} is {line.model}; only T&M lines have a cap")
    _require_currency(contract, [change.cap] if change.cap else [], f"cap of line {line.id}")
    billing = line.billing.model_copy(update={"cap": change.cap})
    return _replace_line(contract, line.model_copy(update={"billing": billing}))


def _scope_line_add(contract: Contract, change: ScopeLineAdd) -> dict[str, Any]:
    if contract.line(change.line.id) is not None:
        raise AmendmentError(f"line {change.line.id} already exists")
    _require_currency(contract, change.line.amounts(), f"line {change.line.id}")
    data = _dump(contract)
    data["lines"] = [*contract.lines, change.line]
    return data


def _scope_line_remove(contract: Contract, change: ScopeLineRemove) -> dict[str, Any]:
    _require_line(contract, change.line_id)
    data = _dump(contract)
    data["lines"] = [line for line in contract.lines if line.id != change.line_id]
    return data


def _scope_line_change(contract: Contract, change: ScopeLineChange) -> dict[str, Any]:
    _require_line(contract, change.line.id)
    _require_currency(contract, change.line.amounts(), f"line {change.line.id}")
    return _replace_line(contract, change.line)


def _rate_card_replace(contract: Contract, change: RateCardReplace) -> dict[str, Any]:
    card = change.rate_card
    if card.currency != contract.currency:
        raise AmendmentError(
            f"rate card {card.id} is in {card.currency}; contract {contract.id} is in {contract.currency}",
            code="amendment.wrong_currency",
            detail={"expected": contract.currency, "actual": card.currency},
        )
    data = _dump(contract)
    # A replaced card keeps its place (only a new card is appended), so replacing is a pure
    # content change and a plan can reproduce the amended document exactly.
    if contract.rate_card(card.id) is None:
        data["rate_cards"] = [*contract.rate_cards, card]
    else:
        data["rate_cards"] = [card if c.id == card.id else c for c in contract.rate_cards]
    return data


def _legal_entity_change(contract: Contract, change: LegalEntityChange) -> dict[str, Any]:
    data = _dump(contract)
    data["legal_entity_code"] = change.legal_entity_code
    return data


_APPLY: dict[type[Any], Callable[[Contract, Any], dict[str, Any]]] = {
    RateChange: _rate_change,
    MilestoneAdd: _milestone_add,
    MilestoneRemove: _milestone_remove,
    MilestoneReschedule: _milestone_reschedule,
    MilestoneReprice: _milestone_reprice,
    TermChange: _term_change,
    CapChange: _cap_change,
    ScopeLineAdd: _scope_line_add,
    ScopeLineRemove: _scope_line_remove,
    ScopeLineChange: _scope_line_change,
    RateCardReplace: _rate_card_replace,
    LegalEntityChange: _legal_entity_change,
}
