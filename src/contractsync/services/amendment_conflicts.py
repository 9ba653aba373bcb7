"""Reading an amendment plan's operations against the live ERP: applied, pending or in conflict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from pydantic import BaseModel

from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import (
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
from contractsync.domain.milestone import BillingMilestone, MilestoneStatus
from contractsync.domain.money import Money
from contractsync.domain.plan import Conflict, ConflictCode, OperationState
from contractsync.domain.rate_card import Rate
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.domain.valuation import PricedPeriod, priced_periods
from contractsync.errors import AmendmentError, DomainError
from contractsync.services.amendment_diff import rate_starting

_ABSENT = "absent"  # a target the contract does not have (no such line, card or milestone)


@dataclass(frozen=True)
class OperationReview:
    """Where the ERP stands on one operation.

    ``erp_after`` is the ERP contract as it will be once this operation is pushed (unchanged
    unless the operation is pending and free of a hand edit); ``invoiced`` maps each invoiced
    milestone the operation touches to its invoiced amount.
    """

    state: OperationState
    erp_after: Contract
    conflicts: list[Conflict] = field(default_factory=list)
    invoiced: dict[str, Money] = field(default_factory=dict)


def review_operation(
    index: int,
    change: Change,
    *,
    before: Contract,
    after: Contract,
    erp_now: Contract,
    erp: FinancialSnapshot,
) -> OperationReview:
    """Classify operation ``index`` (``before`` -> ``after``) against the ERP contract ``erp_now``.

    ``already_applied`` when the ERP holds the value the change sets; ``pending`` when it holds
    the value the change replaces; otherwise pending with an ``erp.edited_by_hand`` conflict.
    Only a pending operation can disturb an invoice or a closed period, so only pending ones
    get ``milestone.already_invoiced`` and ``period.closed`` conflicts.
    """
    state, erp_after, conflicts = _compare(index, change, before, after, erp_now)
    if state == "already_applied":
        return OperationReview(state=state, erp_after=erp_after)
    invoiced = _invoiced(change, before, after, erp)
    conflicts += [
        Conflict(
            code=ConflictCode.MILESTONE_INVOICED,
            message=f"{change.kind} touches milestone {milestone_id}, already invoiced for "
            f"{amount}; it needs a credit note or a new invoice",
            operation_index=index,
            evidence={"milestone": milestone_id, "invoiced_amount": str(amount)},
        )
        for milestone_id, amount in invoiced.items()
    ]
    conflicts += _period_conflicts(index, change, before, after, erp)
    return OperationReview(state=state, erp_after=erp_after, conflicts=conflicts, invoiced=invoiced)


def _compare(
    index: int, change: Change, before: Contract, after: Contract, erp: Contract
) -> tuple[OperationState, Contract, list[Conflict]]:
    """Classify one operation against the ERP; return the ERP as it is after a pending push."""
    now, was, will = _target(erp, change), _target(before, change), _target(after, change)
    if now == will:
        return "already_applied", erp, []
    if now == was:
        try:
            # The next operations are read against the ERP as it will be once this one is
            # pushed: a term change also moves line ends that a later operation sets back.
            return "pending", apply_changes(erp, [change]), []
        except AmendmentError:
            return "pending", erp, []
    conflict = Conflict(
        code=ConflictCode.EDITED_BY_HAND,
        message=f"the ERP no longer holds the prior value this change replaces: {change.kind} "
        f"finds {_text(now)} where it expects {_text(was)}",
        operation_index=index,
        evidence={"prior": _text(was), "erp": _text(now), "amended": _text(will)},
    )
    return "pending", erp, [conflict]


def _target(contract: Contract, change: Change) -> object:
    """The one value ``change`` sets, as ``contract`` has it (milestone status is not terms)."""
    match change:
        case LegalEntityChange():
            return contract.legal_entity_code
        case TermChange():
            return contract.term.end
        case RateChange():
            card = contract.rate_card(change.rate_card_id)
            rate = rate_starting(card, change.role, change.effective_from)
            return _ABSENT if rate is None else rate.hourly
        case RateCardReplace():
            card = contract.rate_card(change.rate_card.id)
            if card is None:
                return _ABSENT
            return card.model_copy(update={"rates": tuple(sorted(card.rates, key=_rate_key))})
        case ScopeLineAdd() | ScopeLineChange() | ScopeLineRemove():
            line_id = change.line_id if isinstance(change, ScopeLineRemove) else change.line.id
            line = contract.line(line_id)
            return _ABSENT if line is None else _terms_only(line)
        case CapChange():
            line = contract.line(change.line_id)
            if line is None or not isinstance(line.billing, TimeAndMaterials):
                return _ABSENT
            return line.billing.cap
        case MilestoneAdd():
            return _milestone_terms(contract, change.line_id, change.milestone.id)
        case MilestoneRemove():
            return _milestone_terms(contract, change.line_id, change.milestone_id)
        case MilestoneReschedule() | MilestoneReprice():
            milestone = milestone_of(contract, change.line_id, change.milestone_id)
            if milestone is None:
                return _ABSENT
            return (
                milestone.due_date if isinstance(change, MilestoneReschedule) else milestone.amount
            )


def _rate_key(rate: Rate) -> tuple[str, date]:
    return rate.role, rate.effective_from


def _terms_only(line: ContractLine) -> ContractLine:
    # Milestone status is PSA/ERP progress, not contract terms: an invoiced milestone in the
    # ERP is not a hand edit of the line it belongs to.
    if not isinstance(line.billing, FixedFee):
        return line
    planned = tuple(
        m.model_copy(update={"status": MilestoneStatus.PLANNED}) for m in line.billing.milestones
    )
    return line.model_copy(
        update={"billing": line.billing.model_copy(update={"milestones": planned})}
    )


def milestone_of(contract: Contract, line_id: str, milestone_id: str) -> BillingMilestone | None:
    """The milestone ``milestone_id`` of fixed-fee line ``line_id``, if the contract has it."""
    line = contract.line(line_id)
    if line is None or not isinstance(line.billing, FixedFee):
        return None
    return line.billing.milestone(milestone_id)


def _milestone_terms(contract: Contract, line_id: str, milestone_id: str) -> object:
    milestone = milestone_of(contract, line_id, milestone_id)
    if milestone is None:
        return _ABSENT
    return milestone.model_copy(update={"status": MilestoneStatus.PLANNED})


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, BaseModel) and not isinstance(value, Money):
        return value.model_dump_json()
    return str(value)


def _line_milestones(line: ContractLine | None) -> dict[str, BillingMilestone]:
    if line is None or not isinstance(line.billing, FixedFee):
        return {}
    return {
        m.id: m.model_copy(update={"status": MilestoneStatus.PLANNED})
        for m in line.billing.milestones
    }


def _touched_milestones(change: Change, before: Contract, after: Contract) -> list[str]:
    """Ids of the milestones whose terms ``change`` alters, adds or removes."""
    match change:
        case MilestoneAdd():
            return [change.milestone.id]
        case MilestoneRemove() | MilestoneReschedule() | MilestoneReprice():
            return [change.milestone_id]
        case ScopeLineAdd() | ScopeLineChange() | ScopeLineRemove():
            line_id = change.line_id if isinstance(change, ScopeLineRemove) else change.line.id
            old = _line_milestones(before.line(line_id))
            new = _line_milestones(after.line(line_id))
            return [mid for mid in {**old, **new} if old.get(mid) != new.get(mid)]
        case _:
            return []


def _invoiced(
    change: Change, before: Contract, after: Contract, erp: FinancialSnapshot
) -> dict[str, Money]:
    """Invoiced milestones ``change`` touches, with the amount the ERP invoiced."""
    amounts: dict[str, Money] = {}
    for milestone_id in _touched_milestones(change, before, after):
        if milestone_id not in erp.invoiced_milestone_ids:
            continue
        billed = next((m for _, m in erp.contract.milestones() if m.id == milestone_id), None)
        billed = billed or next((m for _, m in before.milestones() if m.id == milestone_id), None)
        amounts[milestone_id] = billed.amount if billed else Money.zero(before.currency)
    return amounts


def _dates(change: Change, before: Contract, after: Contract) -> list[date]:
    """The days whose money or term ``change`` alters (checked against closed periods)."""
    match change:
        case RateChange():
            return [change.effective_from]
        case RateCardReplace():
            old = before.rate_card(change.rate_card.id)
            moved = set(change.rate_card.rates) ^ set(old.rates if old else ())
            return [rate.effective_from for rate in moved]
        case MilestoneAdd():
            return [change.milestone.due_date] if change.milestone.due_date else []
        case MilestoneRemove() | MilestoneReschedule() | MilestoneReprice():
            was = milestone_of(before, change.line_id, change.milestone_id)
            days = [was.due_date] if was is not None and was.due_date else []
            return days + ([change.due_date] if isinstance(change, MilestoneReschedule) else [])
        case TermChange():
            # The first day that enters or leaves the term; a shorter term drops the days after
            # the new end, a longer one adds the days after the old end.
            return [min(before.term.end, change.end) + timedelta(days=1)]
        case ScopeLineRemove():
            line = before.line(change.line_id)
            return [before.line_term(line).start] if line is not None else []
        case ScopeLineAdd():
            return [after.line_term(change.line).start]
        case ScopeLineChange() | CapChange():
            line_id = change.line_id if isinstance(change, CapChange) else change.line.id
            moved_periods = _priced(before, line_id) ^ _priced(after, line_id)
            return [min(p.start for p in moved_periods)] if moved_periods else []
        case _:
            return []


def _priced(contract: Contract, line_id: str) -> set[PricedPeriod]:
    line = contract.line(line_id)
    if line is None:
        return set()
    try:
        return set(priced_periods(contract, line))
    except DomainError:
        return set()


def _period_conflicts(
    index: int, change: Change, before: Contract, after: Contract, erp: FinancialSnapshot
) -> list[Conflict]:
    closed = sorted(day for day in _dates(change, before, after) if erp.is_closed(day))
    if not closed:
        return []
    return [
        Conflict(
            code=ConflictCode.PERIOD_CLOSED,
            message=f"{change.kind} changes {closed[0]}, inside the accounting period closed "
            f"through {erp.closed_through}",
            operation_index=index,
            evidence={"date": closed[0].isoformat(), "closed_through": str(erp.closed_through)},
        )
    ]
