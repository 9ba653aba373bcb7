"""Diffing two contract versions into the typed changes that turn the first into the second."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

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
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.errors import AmendmentError

# Contract fields the change vocabulary can move; any other difference is not representable.
_EXPRESSIBLE = frozenset({"version", "legal_entity_code", "term", "lines", "rate_cards"})
_BOOKKEEPING = ("status", "refs", "schema_version")


def diff_contracts(prior: Contract, amended: Contract) -> tuple[Change, ...]:
    """Return the changes that, applied to ``prior`` in order, give ``amended``.

    The narrowest change that reproduces each difference is used (a rate change, a milestone
    reprice); where it does not reproduce the amended value exactly (say a renamed milestone),
    the coarser one is (a scope line change, a rate card replacement). The result is verified:
    ``apply_changes(prior, changes)`` equals ``amended`` apart from ``version``, and apart from
    the order of lines and rate cards when the amended version reorders them.

    Raises:
        AmendmentError: ``amendment.not_representable`` when the versions differ in something
            no change type expresses (title, obligations, term start, a removed rate card ...);
            ``amendment.diff_failed`` when the changes found do not reproduce ``amended``,
            which is a contractsync bug.
    """
    # Lifecycle and bookkeeping are not contract terms: a CLM version that is, say, already
    # "active" while the hub's copy is "approved" still amends only the terms.
    amended = amended.model_copy(update={field: getattr(prior, field) for field in _BOOKKEEPING})
    _require_representable(prior, amended)
    steps = _Steps(prior)
    if amended.legal_entity_code != prior.legal_entity_code:
        steps.add([LegalEntityChange(legal_entity_code=amended.legal_entity_code)])
    # Rate cards go before lines so that a new T&M line finds its card in every step.
    for card in amended.rate_cards:
        old_card = prior.rate_card(card.id)
        if old_card != card:
            steps.add_first_fitting(
                [_rate_changes(old_card, card), [RateCardReplace(rate_card=card)]],
                fits=_holds_card(card),
            )
    for line in prior.lines:
        if amended.line(line.id) is None:
            steps.add([ScopeLineRemove(line_id=line.id)])
    # After removals, so a shorter term never trips over a line that is going anyway. A term
    # cut short before the start of a line that the amendment moves waits for that line.
    term = [TermChange(end=amended.term.end)] if amended.term.end != prior.term.end else []
    if steps.try_add(term):
        term = []
    common = [line for line in amended.lines if prior.line(line.id) is not None]
    # Lines giving milestones away go first, so a milestone moving to another line is free.
    common.sort(key=lambda line: not _drops_milestones(steps.current.line(line.id), line))
    for line in common:
        current = steps.current.line(line.id)
        if current != line:
            steps.add_first_fitting(
                [_line_changes(current, line), [ScopeLineChange(line=line)]],
                fits=_holds_line(line),
            )
    steps.add(term)
    for line in amended.lines:
        if prior.line(line.id) is None:
            steps.add([ScopeLineAdd(line=line)])
    if not is_same_version(steps.current, amended):
        raise _diff_failed(prior, amended, "the changes found do not reproduce the amended version")
    return tuple(steps.changes)


def is_same_version(left: Contract, right: Contract) -> bool:
    """True when two contracts agree in everything but ``version`` and line/rate-card order."""

    def ordered(contract: Contract) -> Contract:
        return contract.model_copy(
            update={
                "version": 1,
                "lines": tuple(sorted(contract.lines, key=lambda line: line.id)),
                "rate_cards": tuple(sorted(contract.rate_cards, key=lambda card: card.id)),
            }
        )

    return ordered(left) == ordered(right)


class _Steps:
    """The changes found so far and the contract they produce, each step proven to apply."""

    def __init__(self, prior: Contract) -> None:
        self.prior = prior
        self.current = prior
        self.changes: list[Change] = []

    def add(self, changes: Sequence[Change]) -> None:
        self.add_first_fitting([changes], fits=lambda _: True)

    def try_add(self, changes: Sequence[Change]) -> bool:
        """Add ``changes`` when they apply; report whether they did."""
        try:
            self.current = apply_changes(self.current, changes)
        except AmendmentError:
            return False
        self.changes.extend(changes)
        return True

    def add_first_fitting(
        self, candidates: Sequence[Sequence[Change] | None], *, fits: Callable[[Contract], bool]
    ) -> None:
        """Take the first candidate that applies cleanly and whose result ``fits``."""
        for candidate in candidates:
            if candidate is None:
                continue
            try:
                result = apply_changes(self.current, candidate)
            except AmendmentError:
                continue
            if fits(result):
                self.current = result
                self.changes.extend(candidate)
                return
        kinds = [c.kind for candidate in candidates if candidate for c in candidate]
        raise _diff_failed(self.prior, self.current, f"no change among {kinds} fits")


def _holds_card(card: RateCard) -> Callable[[Contract], bool]:
    return lambda contract: contract.rate_card(card.id) == card


def _holds_line(line: ContractLine) -> Callable[[Contract], bool]:
    return lambda contract: contract.line(line.id) == line


def _diff_failed(prior: Contract, amended: Contract, why: str) -> AmendmentError:
    return AmendmentError(
        f"cannot plan contract {prior.id}: {why}",
        code="amendment.diff_failed",
        remediation="This is a contractsync bug: report it with both contract versions.",
        detail={"contract": prior.id, "from_version": prior.version},
    )


def _require_representable(prior: Contract, amended: Contract) -> None:
    if amended.id != prior.id:
        raise AmendmentError(f"cannot diff contract {prior.id} against contract {amended.id}")
    differing = [
        name
        for name in sorted(set(Contract.model_fields) - _EXPRESSIBLE)
        if getattr(prior, name) != getattr(amended, name)
    ]
    if prior.term.start != amended.term.start:
        differing.append("term.start")
    differing += [
        f"rate_cards (removes {card.id})"
        for card in prior.rate_cards
        if amended.rate_card(card.id) is None
    ]
    if differing:
        raise AmendmentError(
            f"version {amended.version} of contract {prior.id} changes {', '.join(differing)}, "
            "which no amendment change type expresses",
            code="amendment.not_representable",
            remediation="Make this change by hand in each system, or issue a new contract.",
            detail={"fields": differing},
        )


def _drops_milestones(before: ContractLine | None, after: ContractLine) -> bool:
    def ids(line: ContractLine | None) -> set[str]:
        if line is None or not isinstance(line.billing, FixedFee):
            return set()
        return {m.id for m in line.billing.milestones}

    return bool(ids(before) - ids(after))


def _line_changes(before: ContractLine | None, after: ContractLine) -> list[Change] | None:
    """Milestone or cap changes turning ``before`` into ``after``; None if they cannot."""
    if before is None or before.model_copy(update={"billing": after.billing}) != after:
        return None
    old, new = before.billing, after.billing
    if isinstance(old, TimeAndMaterials) and isinstance(new, TimeAndMaterials):
        if old.model_copy(update={"cap": new.cap}) != new:
            return None
        return [CapChange(line_id=after.id, cap=new.cap)]
    if not (isinstance(old, FixedFee) and isinstance(new, FixedFee)):
        return None
    kept = {m.id for m in new.milestones}
    changes: list[Change] = [
        MilestoneRemove(line_id=after.id, milestone_id=m.id)
        for m in old.milestones
        if m.id not in kept
    ]
    for milestone in new.milestones:
        was = old.milestone(milestone.id)
        if was is None:
            continue
        if was.due_date != milestone.due_date:
            if milestone.due_date is None:
                return None  # a reschedule always names a date; the whole line must change
            changes.append(
                MilestoneReschedule(
                    line_id=after.id, milestone_id=milestone.id, due_date=milestone.due_date
                )
            )
        if was.amount != milestone.amount:
            changes.append(
                MilestoneReprice(
                    line_id=after.id, milestone_id=milestone.id, amount=milestone.amount
                )
            )
    changes += [
        MilestoneAdd(line_id=after.id, milestone=m)
        for m in new.milestones
        if old.milestone(m.id) is None
    ]
    return changes


def rate_starting(card: RateCard | None, role: str, day: date) -> Rate | None:
    """The rate range of ``role`` on ``card`` that starts exactly on ``day``, if any."""
    if card is None:
        return None
    return next((r for r in card.rates if r.role == role and r.effective_from == day), None)


def _rate_changes(before: RateCard | None, after: RateCard) -> list[Change] | None:
    """Per-role rate changes turning ``before`` into ``after``; None if they cannot.

    A rate change closes the range in force the day before and runs open-ended, so the amended
    ranges of a role must be the prior ones up to a day, then a chain of new ranges.
    """
    if before is None:
        return None
    changes: list[RateChange] = []
    for role in sorted(before.roles | after.roles):
        old = sorted((r for r in before.rates if r.role == role), key=lambda r: r.effective_from)
        new = sorted((r for r in after.rates if r.role == role), key=lambda r: r.effective_from)
        if old == new:
            continue
        start = next((i for i, (o, n) in enumerate(zip(old, new, strict=False)) if o != n), None)
        start = min(len(old), len(new)) if start is None else start
        if start < len(old) and start < len(new):
            o, n = old[start], new[start]
            if (o.effective_from, o.hourly) == (n.effective_from, n.hourly):
                start += 1  # the range in force was only closed by the next change
        changes += [
            RateChange(
                rate_card_id=after.id, role=role, hourly=r.hourly, effective_from=r.effective_from
            )
            for r in new[start:]
        ]
    running = before
    for change in changes:
        # Each rate change must visibly set its own range, or the ERP comparison cannot tell
        # "already applied" from "pending"; fall back to replacing the card then.
        same = rate_starting(running, change.role, change.effective_from)
        if same is not None and same.hourly == change.hourly:
            return None
        running = running.with_rate(change.role, change.hourly, change.effective_from)
    return list(changes)
