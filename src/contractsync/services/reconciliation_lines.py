"""Classifying a whole-line difference between a system's copy of a contract and the CLM terms."""

from __future__ import annotations

from contractsync.domain.amendment import ScopeLineAdd, ScopeLineChange, ScopeLineRemove
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, TimeAndMaterials
from contractsync.domain.drift import DriftDetail, DriftKind
from contractsync.domain.money import Money
from contractsync.services.reconciliation_changes import ABSENT, Found, Side


def _line_text(line: ContractLine | None) -> str:
    if line is None:
        return ABSENT
    billing = line.billing
    amount = billing.amount if isinstance(billing, FixedFee) else None
    priced = f" {amount}" if amount is not None else ""
    return f"{line.id} {line.description!r} ({line.service_code}, {line.model.value}{priced})"


def _invoiced_excess(
    old: ContractLine | None, new: ContractLine | None, side: Side
) -> Money | None:
    """How much more the side invoiced on ``old``'s milestones than ``new`` allows, if any."""
    if old is None or not isinstance(old.billing, FixedFee):
        return None
    allowed = new.billing if new is not None and isinstance(new.billing, FixedFee) else None
    excess = None
    for m in old.billing.milestones:
        if m.id in side.invoiced:
            now = allowed.milestone(m.id) if allowed else None
            over = m.amount.amount - (now.amount.amount if now else 0)
            if over > 0:
                base = excess.amount if excess else 0
                excess = Money(amount=base + over, currency=m.amount.currency)
    return excess


def classify_line_change(
    change: ScopeLineAdd | ScopeLineRemove | ScopeLineChange,
    before: Contract,
    side: Side,
    delta: Money | None,
) -> Found:
    """The drift a whole-line change of ``diff_contracts(system copy, clm)`` stands for.

    A line the system holds but the contract does not, or the reverse, is a scope drift
    worth the line's value; a replaced line is reported as its most telling difference. Any
    invoiced milestone on the system's line worth more than the contract now allows makes
    it an over-invoice, at the excess.
    """
    line_id = (
        change.line.id if isinstance(change, ScopeLineAdd | ScopeLineChange) else change.line_id
    )
    old = before.line(line_id)
    new = None if isinstance(change, ScopeLineRemove) else change.line
    path = f"lines.{line_id}"
    touched = _touched_invoiced(old, new, side)
    excess = _invoiced_excess(old, new, side)
    if excess is not None:
        kind, detail = DriftKind.INVOICED_OVER_CONTRACT, DriftDetail.CHANGED
        delta = excess
    elif isinstance(change, ScopeLineAdd | ScopeLineRemove):
        kind = DriftKind.SCOPE_MISMATCH
        detail = DriftDetail.MISSING if isinstance(change, ScopeLineAdd) else DriftDetail.EXTRA
    else:
        # A line change always replaces a line the system holds.
        assert old is not None
        assert new is not None
        kind, detail, path = _line_change_kind(old, new, path)
    entity = (
        ("billing_milestone", "*")
        if kind is DriftKind.MILESTONE_MISMATCH
        else ("contract_line", "*")
    )
    return Found(
        kind, detail, path, _line_text(new), _line_text(old), delta, entity, invoiced=touched
    )


def _touched_invoiced(old: ContractLine | None, new: ContractLine | None, side: Side) -> bool:
    if old is None or not isinstance(old.billing, FixedFee):
        return False
    keep = new.billing if new is not None and isinstance(new.billing, FixedFee) else None
    return any(
        m.id in side.invoiced and (keep is None or keep.milestone(m.id) != m)
        for m in old.billing.milestones
    )


def _line_change_kind(
    old: ContractLine, new: ContractLine, path: str
) -> tuple[DriftKind, DriftDetail, str]:
    """The one kind a whole-line difference is reported as: the most telling part of it."""
    if (old.model, old.description, old.service_code) != (
        new.model,
        new.description,
        new.service_code,
    ):
        return DriftKind.SCOPE_MISMATCH, DriftDetail.CHANGED, path
    if old.term != new.term:
        return DriftKind.TERM_MISMATCH, DriftDetail.RESCHEDULED, f"{path}.term"
    ob, nb = old.billing, new.billing
    if isinstance(ob, FixedFee) and isinstance(nb, FixedFee):
        if ob.milestones == nb.milestones:
            return DriftKind.AMOUNT_MISMATCH, DriftDetail.CHANGED, f"{path}.amount"
        renamed = [
            m.model_copy(update={"name": n.name})
            for m, n in zip(ob.milestones, nb.milestones, strict=False)
        ]
        only_names = len(ob.milestones) == len(nb.milestones) and tuple(renamed) == nb.milestones
        detail = DriftDetail.RENAMED if only_names else DriftDetail.CHANGED
        return DriftKind.MILESTONE_MISMATCH, detail, f"{path}.milestones"
    if isinstance(ob, TimeAndMaterials) and isinstance(nb, TimeAndMaterials):
        if ob.rate_card_id != nb.rate_card_id:
            return DriftKind.RATE_MISMATCH, DriftDetail.CHANGED, f"{path}.rate_card_id"
        return DriftKind.AMOUNT_MISMATCH, DriftDetail.CHANGED, f"{path}.billing"
    return DriftKind.AMOUNT_MISMATCH, DriftDetail.CHANGED, f"{path}.billing"


__all__ = ["classify_line_change"]
