"""Amendment planning: a three-way diff of prior version, amended version and live ERP state."""

from __future__ import annotations

from decimal import Decimal

from contractsync.domain.amending import apply_amendment, apply_changes
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
from contractsync.domain.contract_line import ContractLine, TimeAndMaterials
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money, total
from contractsync.domain.plan import (
    AmendmentPlan,
    Conflict,
    MoneyImpact,
    PlannedOperation,
    percent_change,
)
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.domain.valuation import contract_value, line_value
from contractsync.errors import AmendmentError, DomainError
from contractsync.services.amendment_conflicts import milestone_of, review_operation
from contractsync.services.amendment_diff import diff_contracts


def plan_amendment(prior: Contract, amended: Contract, *, erp: FinancialSnapshot) -> AmendmentPlan:
    """Plan moving the ERP from ``prior`` to ``amended``, given what the ERP holds now.

    Each operation's target is read in the ERP (with the pending operations before it
    applied): if it already holds the amended value the operation is ``already_applied``; if it
    holds the prior value it is ``pending``; otherwise somebody edited it by hand
    (``erp.edited_by_hand``). A pending operation touching an invoiced milestone raises
    ``milestone.already_invoiced``; one dated on or before ``erp.closed_through`` raises
    ``period.closed``.

    Raises:
        AmendmentError: if the versions or the snapshot belong to another contract, ``amended``
            is older than ``prior``, or the difference is not representable (see
            :func:`~contractsync.services.amendment_diff.diff_contracts`).
        DomainError: if either version cannot be valued (a line's rate card is missing).
    """
    if erp.contract.id != prior.id:
        raise AmendmentError(f"the ERP snapshot is of contract {erp.contract.id}, not {prior.id}")
    if amended.version < prior.version:
        raise AmendmentError(
            f"contract {prior.id} version {amended.version} is older than {prior.version}",
            code="amendment.out_of_order",
        )
    changes = diff_contracts(prior, amended)
    states = [prior]
    for change in changes:
        states.append(apply_changes(states[-1], [change]))
    values = [_value_or_none(state) for state in states]
    operations: list[PlannedOperation] = []
    conflicts: list[Conflict] = []
    invoiced: dict[str, Money] = {}
    erp_now = erp.contract
    for index, change in enumerate(changes):
        before, after = states[index], states[index + 1]
        review = review_operation(
            index, change, before=before, after=after, erp_now=erp_now, erp=erp
        )
        erp_now = review.erp_after
        conflicts += review.conflicts
        invoiced |= review.invoiced
        value_before, value_after = values[index], values[index + 1]
        operations.append(
            PlannedOperation(
                change=change,
                state=review.state,
                money_delta=None
                if value_before is None or value_after is None
                else value_after - value_before,
                summary=_describe(change, before=before, prior=prior),
                rate_change_pct=_rate_change_pct(change, prior),
                days_moved=_days_moved(change, before),
            )
        )
    impact = MoneyImpact.between(
        contract_value(prior),
        contract_value(amended),
        per_line=_per_line(prior, amended),
        invoiced_amount_affected=total(invoiced.values(), prior.currency),
    )
    return AmendmentPlan(
        contract_id=prior.id,
        from_version=prior.version,
        to_version=amended.version,
        operations=tuple(operations),
        conflicts=tuple(conflicts),
        impact=impact,
    )


def plan_for_amendment(
    prior: Contract, amendment: Amendment, *, erp: FinancialSnapshot
) -> AmendmentPlan:
    """Apply ``amendment`` to ``prior`` and plan the result (see :func:`plan_amendment`).

    Raises:
        AmendmentError: if the amendment does not apply to ``prior`` (another contract, out of
            order, a change that does not fit) or the plan cannot be made.
    """
    return plan_amendment(prior, apply_amendment(prior, amendment), erp=erp)


def apply_plan(prior: Contract, plan: AmendmentPlan) -> Contract:
    """Apply every operation of ``plan`` (pending and already applied) to ``prior``.

    The canonical contract needs all of them, whatever the ERP already holds; the result is at
    ``plan.to_version``.

    Raises:
        AmendmentError: ``amendment.plan_stale`` if ``prior`` is another contract or not at
            ``plan.from_version``; ``amendment.does_not_apply`` if a change does not fit.
    """
    if prior.id != plan.contract_id or prior.version != plan.from_version:
        raise AmendmentError(
            f"the plan moves contract {plan.contract_id} from version {plan.from_version}; "
            f"got contract {prior.id} at version {prior.version}",
            code="amendment.plan_stale",
            remediation="Plan the amendment again against the current contract version.",
            detail={"expected_version": plan.from_version, "actual_version": prior.version},
        )
    amended = apply_changes(prior, [op.change for op in plan.operations])
    return amended.model_copy(update={"version": plan.to_version})


def _value_or_none(contract: Contract) -> Money | None:
    try:
        return contract_value(contract)
    except DomainError:
        return None


def _rate_change_pct(change: Change, prior: Contract) -> Decimal | None:
    """The new rate against the prior rate in force that day; the largest for a card."""
    if isinstance(change, RateChange):
        rates = [(change.role, change.hourly, change.effective_from)]
        card = prior.rate_card(change.rate_card_id)
    elif isinstance(change, RateCardReplace):
        card = prior.rate_card(change.rate_card.id)
        old = set(card.rates) if card is not None else set()
        rates = [
            (r.role, r.hourly, r.effective_from) for r in change.rate_card.rates if r not in old
        ]
    else:
        return None
    if card is None:
        return None
    pcts = []
    for role, hourly, day in rates:
        was = card.rate_for(role, day)
        pct = percent_change(was.amount, hourly.amount) if was is not None else None
        if pct is not None:
            pcts.append(pct)
    return max(pcts, key=abs, default=None)


def _days_moved(change: Change, before: Contract) -> int | None:
    if isinstance(change, TermChange):
        return (change.end - before.term.end).days
    if isinstance(change, MilestoneReschedule):
        was = milestone_of(before, change.line_id, change.milestone_id)
        return (change.due_date - was.due_date).days if was and was.due_date else None
    return None


def _per_line(prior: Contract, amended: Contract) -> dict[str, Money]:
    zero = Money.zero(prior.currency)
    deltas: dict[str, Money] = {}
    for line_id in dict.fromkeys([line.id for line in (*prior.lines, *amended.lines)]):
        old, new = prior.line(line_id), amended.line(line_id)
        delta = (line_value(amended, new) if new else zero) - (
            line_value(prior, old) if old else zero
        )
        if not delta.is_zero:
            deltas[line_id] = delta
    return deltas


def _pct(before: Money | None, after: Money) -> str:
    pct = percent_change(before.amount, after.amount) if before is not None else None
    return "" if pct is None else f" ({pct:+.1f} %)"


def _named(milestone: BillingMilestone) -> str:
    return f'milestone {milestone.id} "{milestone.name}"'


def _due(milestone: BillingMilestone) -> str:
    return f"due {milestone.due_date}" if milestone.due_date else f"on {milestone.trigger}"


def _cap(line: ContractLine | None) -> Money | None:
    return line.billing.cap if line and isinstance(line.billing, TimeAndMaterials) else None


def _describe(change: Change, *, before: Contract, prior: Contract) -> str:
    """One sentence for a finance reader; rates compare with the prior version's rate that day."""
    match change:
        case RateChange():
            card = prior.rate_card(change.rate_card_id)
            was = card.rate_for(change.role, change.effective_from) if card else None
            if was is None:
                return f"{change.role} rate set to {change.hourly} from {change.effective_from}"
            return (
                f"{change.role} rate {was.amount} → {change.hourly} from "
                f"{change.effective_from}{_pct(was, change.hourly)}"
            )
        case RateCardReplace():
            card, old = change.rate_card, before.rate_card(change.rate_card.id)
            verb = "add" if old is None else "replace"
            ranges = f"{len(card.rates)} rate range{'' if len(card.rates) == 1 else 's'}"
            return f"{verb} rate card {card.id} ({ranges} in {card.currency})"
        case MilestoneAdd():
            new = change.milestone
            return f"add {_named(new)} of {new.amount} {_due(new)} to line {change.line_id}"
        case MilestoneRemove() | MilestoneReschedule() | MilestoneReprice():
            was_m = milestone_of(before, change.line_id, change.milestone_id)
            if was_m is None:  # pragma: no cover - the diff only names existing milestones
                return f"{change.kind} of milestone {change.milestone_id}"
            if isinstance(change, MilestoneRemove):
                return f"remove {_named(was_m)} ({was_m.amount}) from line {change.line_id}"
            if isinstance(change, MilestoneReschedule):
                days = _days_moved(change, before)
                shift = f" ({days:+d} days)" if days is not None else ""
                return f"move {_named(was_m)} from {was_m.due_date or was_m.trigger} to {change.due_date}{shift}"
            return f"reprice {_named(was_m)} {was_m.amount.amount} → {change.amount}{_pct(was_m.amount, change.amount)}"
        case TermChange():
            old_end = before.term.end
            verb = "extend" if change.end > old_end else "shorten"
            return f"{verb} the term end {old_end} → {change.end} ({(change.end - old_end).days:+d} days)"
        case CapChange():
            old_cap = _cap(before.line(change.line_id))
            if change.cap is None:
                return f"lift the {old_cap} cap of line {change.line_id}"
            if old_cap is None:
                return f"cap line {change.line_id} at {change.cap}"
            return f"line {change.line_id} cap {old_cap.amount} → {change.cap}{_pct(old_cap, change.cap)}"
        case ScopeLineAdd():
            line = change.line
            term = before.line_term(line)
            return f'add line {line.id} "{line.description}" ({line.model}, {term.start} to {term.end})'
        case ScopeLineRemove():
            gone = before.line(change.line_id)
            return f'remove line {change.line_id} "{gone.description if gone else ""}"'
        case ScopeLineChange():
            old_line, line = before.line(change.line.id), change.line
            fields = [
                f
                for f in ContractLine.model_fields
                if getattr(old_line, f, None) != getattr(line, f)
            ]
            return f'change line {line.id} "{line.description}" ({", ".join(fields)})'
        case LegalEntityChange():
            return f"move the contract from legal entity {before.legal_entity_code} to {change.legal_entity_code}"
