"""Comparing a system's copy of a contract (ERP contract, PSA plan) with the CLM terms."""

from __future__ import annotations

from pydantic import ValidationError

from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import ScopeLineAdd, ScopeLineChange, ScopeLineRemove
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee
from contractsync.domain.drift import DriftDetail, DriftItem, DriftKind
from contractsync.domain.milestone import BillingMilestone, MilestoneStatus
from contractsync.domain.ownership import OwnershipMap, SystemRole
from contractsync.errors import AmendmentError, ContractSyncError
from contractsync.services.amendment_diff import diff_contracts
from contractsync.services.reconciliation_changes import (
    ABSENT,
    Found,
    Side,
    classify,
    text_of,
    value_delta,
    value_of,
)
from contractsync.services.reconciliation_lines import classify_line_change

# Contract fields no amendment change expresses: compared one by one, before the diff.
_HEADER: dict[str, tuple[DriftKind, str, str]] = {
    "customer_id": (DriftKind.CUSTOMER_MISMATCH, "contract", "customer_id"),
    "currency": (DriftKind.AMOUNT_MISMATCH, "contract", "currency"),
    "title": (DriftKind.SCOPE_MISMATCH, "contract", "title"),
    "kind": (DriftKind.SCOPE_MISMATCH, "contract", "kind"),
    "parent_id": (DriftKind.SCOPE_MISMATCH, "contract", "parent_id"),
    "payment_terms_days": (DriftKind.TERM_MISMATCH, "contract", "payment_terms_days"),
    "obligations": (DriftKind.TERM_MISMATCH, "contract", "obligations"),
    # Tax is the ERP's by the ownership map, so a difference here is never pushed over.
    "tax_treatment": (DriftKind.TERM_MISMATCH, "tax", "tax_treatment"),
}
# A push cannot fix these whatever the ownership says (an ERP company books in one currency).
_NEVER_PUSHED = frozenset({"currency"})


def drift_between(
    clm: Contract, held: Contract, *, side: Side, ownership: OwnershipMap
) -> list[DriftItem]:
    """Every difference between ``held`` (a system's copy) and ``clm``, classified.

    Header fields no amendment change expresses (customer, currency, title ...) are compared
    one by one; the rest goes through ``diff_contracts(held, clm)``, and each change it
    finds becomes one item: the change that would bring the system back to the contract.
    Milestone statuses are not compared (the PSA owns completion, the ERP invoicing).
    """
    found = _header(clm, held, side)
    extra_cards = [card for card in held.rate_cards if clm.rate_card(card.id) is None]
    found += [
        Found(
            DriftKind.RATE_MISMATCH,
            DriftDetail.EXTRA,
            f"rate_cards.{card.id}",
            ABSENT,
            f"{len(card.rates)} rates in {card.currency}",
            None,
            ("rate_card", "*"),
            pushable=False,
        )
        for card in extra_cards
    ]
    try:
        view = _comparable(held, clm, dropped=[card.id for card in extra_cards])
        view, target = _aligned(view, clm)
        changes = diff_contracts(view, target)
    except (AmendmentError, ValidationError) as error:
        found.append(undiffable(clm, held, error))
        return [drift_item(clm.id, f, side, ownership) for f in found]
    state = view
    for change in changes:
        after = apply_changes(state, [change])
        if isinstance(change, ScopeLineAdd | ScopeLineRemove | ScopeLineChange):
            found.append(classify_line_change(change, state, side, value_delta(state, after)))
        else:
            found.append(classify(change, state, after, clm, side))
        state = after
    return [drift_item(clm.id, f, side, ownership) for f in found]


def drift_item(contract_id: str, found: Found, side: Side, ownership: OwnershipMap) -> DriftItem:
    """Tie ``found`` to a contract and a system; healable only if a re-push restores it.

    A re-push restores a field only when the CLM is its system of record, the push writes
    it, it is not something the system holds beyond the contract (a push never deletes),
    it touches no invoiced milestone and no closed period, and the system holds the same
    contract version (moving versions is the amendment flow's work, under its policy).
    """
    owner = ownership.owner_of(*found.entity)
    reason = _unhealable(found, side, owner)
    return DriftItem(
        contract_id=contract_id,
        kind=found.kind,
        detail=found.detail,
        system=side.system,
        role=side.role,
        field=found.field,
        expected=found.expected,
        actual=found.actual,
        money_at_risk=found.money if found.money is not None and not found.money.is_zero else None,
        system_of_record=owner,
        healable=reason is None,
        unhealable_reason=reason,
        touches_invoiced_milestone=found.invoiced,
        touches_closed_period=found.closed,
        evidence={"entity": found.entity[0], "attribute": found.entity[1]},
    )


def _unhealable(found: Found, side: Side, owner: SystemRole | None) -> str | None:
    if owner is not SystemRole.CLM:
        return f"{owner.value if owner else 'no system'} is the system of record of this field"
    if found.invoiced or found.closed:
        return "it touches an invoiced milestone or a closed accounting period"
    if found.kind is DriftKind.INVOICED_OVER_CONTRACT:
        return "an invoice is only undone by a credit note"
    if found.detail is DriftDetail.EXTRA:
        return f"a re-push never deletes what {side.system} holds beyond the contract"
    if not found.pushable:
        return f"a re-push does not write this field to {side.system}"
    if side.held_version is not None and side.held_version != side.clm_version:
        return (
            f"{side.system} holds version {side.held_version} and the CLM version "
            f"{side.clm_version}: the amendment flow moves versions"
        )
    return None


def _header(clm: Contract, held: Contract, side: Side) -> list[Found]:
    found = []
    for name, (kind, entity, attribute) in _HEADER.items():
        want, have = getattr(clm, name), getattr(held, name)
        if want != have:
            money = value_of(clm) if kind is not DriftKind.TERM_MISMATCH else None
            found.append(
                Found(
                    kind,
                    DriftDetail.CHANGED,
                    name,
                    text_of(want),
                    text_of(have),
                    money,
                    (entity, attribute),
                    pushable=name not in _NEVER_PUSHED,
                )
            )
    if clm.term.start != held.term.start:
        found.append(
            Found(
                DriftKind.TERM_MISMATCH,
                DriftDetail.RESCHEDULED,
                "term.start",
                clm.term.start.isoformat(),
                held.term.start.isoformat(),
                None,
                ("contract", "term"),
                closed=side.is_closed(clm.term.start, held.term.start),
            )
        )
    return found


def _comparable(held: Contract, clm: Contract, *, dropped: list[str]) -> Contract:
    """``held`` with the header fields already compared taken from ``clm``, ready to diff."""
    data = held.model_dump(mode="python")
    data.update({name: getattr(clm, name) for name in _HEADER})
    data["term"] = {"start": clm.term.start, "end": held.term.end}
    data["rate_cards"] = [card for card in data["rate_cards"] if card["id"] not in dropped]
    statuses = {m.id: m.status for _, m in clm.milestones()}
    for line in data["lines"]:
        for milestone in line["billing"].get("milestones", ()):
            milestone["status"] = statuses.get(milestone["id"], MilestoneStatus.PLANNED)
    return Contract.model_validate(data)


def _aligned(view: Contract, clm: Contract) -> tuple[Contract, Contract]:
    """Both sides with each line's milestones in one order, so order is never drift.

    The diff appends a milestone it adds and compares lines in order, so the milestones
    both sides hold go first in the contract's order, then those only one side holds.
    """
    view_lines, clm_lines = [], []
    for line in view.lines:
        other = clm.line(line.id)
        if not (
            isinstance(line.billing, FixedFee) and other and isinstance(other.billing, FixedFee)
        ):
            view_lines.append(line)
            continue
        rank = {m.id: index for index, m in enumerate(other.billing.milestones)}
        held = {m.id for m in line.billing.milestones}
        mine = sorted(line.billing.milestones, key=lambda m: rank.get(m.id, len(rank)))
        theirs = sorted(other.billing.milestones, key=lambda m: m.id not in held)
        view_lines.append(_with_order(line, mine))
        clm_lines.append(_with_order(other, theirs))
    reordered = {line.id: line for line in clm_lines}
    target = [reordered.get(line.id, line) for line in clm.lines]
    return (
        view.model_copy(update={"lines": tuple(view_lines)}),
        clm.model_copy(update={"lines": tuple(target)}),
    )


def _with_order(line: ContractLine, milestones: list[BillingMilestone]) -> ContractLine:
    assert isinstance(line.billing, FixedFee)  # only fixed-fee lines are reordered
    billing = line.billing.model_copy(update={"milestones": tuple(milestones)})
    return line.model_copy(update={"billing": billing})


def undiffable(clm: Contract, held: Contract, error: Exception) -> Found:
    """The one drift of a copy that cannot be compared term by term (never healable)."""
    reason = error.message if isinstance(error, ContractSyncError) else str(error).split("\n")[0]
    return Found(
        DriftKind.SCOPE_MISMATCH,
        DriftDetail.CHANGED,
        "contract",
        f"version {clm.version}",
        f"a copy that cannot be compared term by term ({reason})",
        None,
        ("contract", "*"),
        pushable=False,
    )


__all__ = ["drift_between", "drift_item", "undiffable"]
