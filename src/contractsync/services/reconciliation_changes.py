"""Classifying one typed change between a system's copy of a contract and the CLM terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

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
    TermChange,
)
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import TimeAndMaterials
from contractsync.domain.drift import DriftDetail, DriftKind
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.ownership import SystemRole
from contractsync.domain.rate_card import Rate
from contractsync.domain.valuation import contract_value
from contractsync.errors import ContractSyncError

ABSENT = "absent"
"""The text of a side that does not hold the thing at all."""


@dataclass(frozen=True, slots=True)
class Side:
    """The system a contract copy came from, and what it must never see rewritten.

    Attributes:
        system: The configured system name.
        role: Its role (ERP or PSA).
        invoiced: Milestone ids already invoiced (by the ERP).
        closed_through: Last day of the last closed accounting period, if known.
        held_version: The contract version the system holds, if it says.
        clm_version: The contract version the CLM holds.
    """

    system: str
    role: SystemRole
    invoiced: frozenset[str] = frozenset()
    closed_through: date | None = None
    held_version: int | None = None
    clm_version: int | None = None

    def is_closed(self, *days: date | None) -> bool:
        """True when any of ``days`` falls in a closed period."""
        return self.closed_through is not None and any(
            d is not None and d <= self.closed_through for d in days
        )


@dataclass(frozen=True, slots=True)
class Found:
    """One classified difference, before it is tied to a contract and a system."""

    kind: DriftKind
    detail: DriftDetail
    field: str
    expected: str
    actual: str
    money: Money | None
    entity: tuple[str, str]
    invoiced: bool = False
    closed: bool = False
    pushable: bool = True


def value_of(contract: Contract) -> Money | None:
    """The contract value, or None when it cannot be priced (a missing rate card ...)."""
    try:
        return contract_value(contract)
    except ContractSyncError:
        return None


def describe_milestone(milestone: BillingMilestone) -> str:
    """A milestone in one line: id, name, amount and due date or trigger."""
    due = milestone.due_date.isoformat() if milestone.due_date else f"on {milestone.trigger}"
    return f"{milestone.id} {milestone.name!r} {milestone.amount} due {due}"


def text_of(value: Any) -> str:
    """A field value as report text: ``none``, the ids of a tuple of records, or ``str``."""
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ", ".join(getattr(v, "id", str(v)) for v in value) or "none"
    return str(value)


def value_delta(before: Contract, after: Contract) -> Money | None:
    """How far one step moved the contract value (None if either side cannot be priced)."""
    old, new = value_of(before), value_of(after)
    if old is None or new is None:
        return None
    return Money(amount=abs(new.amount - old.amount), currency=new.currency)


def _milestone(contract: Contract, milestone_id: str) -> BillingMilestone | None:
    return next((m for _, m in contract.milestones() if m.id == milestone_id), None)


def classify(change: Change, before: Contract, after: Contract, clm: Contract, side: Side) -> Found:
    """The drift one change of ``diff_contracts(system copy, clm)`` stands for.

    ``before`` is the system's side as the earlier changes left it and ``after`` the same
    with ``change`` applied, so the value moved by the change is the money at risk unless
    the kind says otherwise (a repriced milestone: the difference; a rescheduled one: its
    amount; a legal entity: the contract value; an over-invoice: the excess).
    """
    delta = value_delta(before, after)
    if isinstance(change, LegalEntityChange):
        return Found(
            DriftKind.LEGAL_ENTITY_MISMATCH,
            DriftDetail.CHANGED,
            "legal_entity_code",
            change.legal_entity_code,
            before.legal_entity_code,
            value_of(clm),
            ("contract", "legal_entity_code"),
        )
    if isinstance(change, RateChange | RateCardReplace):
        return _rate(change, before, delta)
    if isinstance(change, TermChange):
        return Found(
            DriftKind.TERM_MISMATCH,
            DriftDetail.RESCHEDULED,
            "term.end",
            change.end.isoformat(),
            before.term.end.isoformat(),
            delta,
            ("contract", "term"),
            closed=side.is_closed(change.end, before.term.end),
        )
    if isinstance(change, CapChange):
        line = before.line(change.line_id)
        old = line.billing.cap if line and isinstance(line.billing, TimeAndMaterials) else None
        gap = (
            Money(amount=abs(change.cap.amount - old.amount), currency=old.currency)
            if (change.cap is not None and old is not None)
            else delta
        )
        return Found(
            DriftKind.AMOUNT_MISMATCH,
            DriftDetail.CHANGED,
            f"lines.{change.line_id}.cap",
            text_of(change.cap),
            text_of(old),
            gap,
            ("contract_line", "cap"),
        )
    if isinstance(change, MilestoneAdd | MilestoneRemove | MilestoneReschedule | MilestoneReprice):
        return _milestone_drift(change, before, side, delta)
    raise TypeError(f"{change.kind} changes are classified by classify_line_change")


def _rate(change: RateChange | RateCardReplace, before: Contract, delta: Money | None) -> Found:
    if isinstance(change, RateCardReplace):
        card = change.rate_card
        old = before.rate_card(card.id)
        held: tuple[Rate, ...] = old.rates if old is not None else ()
        roles = sorted(
            role
            for role in {r.role for r in (*card.rates, *held)}
            if _ranges(card.rates, role) != _ranges(held, role)
        )
        path = f"rate_cards.{card.id}" + (f".{roles[0]}" if len(roles) == 1 else "")
        return Found(
            DriftKind.RATE_MISMATCH,
            DriftDetail.MISSING if old is None else DriftDetail.CHANGED,
            path,
            _card_text(card.rates, roles),
            ABSENT if old is None else _card_text(held, roles),
            delta,
            ("rate_card", "rates"),
        )
    held_card = before.rate_card(change.rate_card_id)
    rate = held_card.rate_for(change.role, change.effective_from) if held_card else None
    return Found(
        DriftKind.RATE_MISMATCH,
        DriftDetail.MISSING if rate is None else DriftDetail.REPRICED,
        f"rate_cards.{change.rate_card_id}.{change.role}",
        f"{change.hourly}/h from {change.effective_from.isoformat()}",
        ABSENT if rate is None else f"{rate}/h on {change.effective_from.isoformat()}",
        delta,
        ("rate_card", "rates"),
    )


def _ranges(rates: tuple[Rate, ...], role: str) -> list[Rate]:
    return sorted((r for r in rates if r.role == role), key=lambda r: r.effective_from)


def _card_text(rates: tuple[Rate, ...], roles: list[str]) -> str:
    """The ranges of ``roles`` only: the rest of the card agrees on both sides."""
    shown = [r for role in roles for r in _ranges(rates, role)]
    return (
        "; ".join(
            f"{r.role} {r.hourly}/h {r.effective_from.isoformat()}.."
            f"{r.effective_to.isoformat() if r.effective_to else ''}"
            for r in shown
        )
        or "no rates"
    )


def _milestone_drift(
    change: MilestoneAdd | MilestoneRemove | MilestoneReschedule | MilestoneReprice,
    before: Contract,
    side: Side,
    delta: Money | None,
) -> Found:
    path = f"lines.{change.line_id}.milestones"
    entity = ("billing_milestone", "*")
    if isinstance(change, MilestoneAdd):
        m = change.milestone
        return Found(
            DriftKind.MILESTONE_MISMATCH,
            DriftDetail.MISSING,
            f"{path}.{m.id}",
            describe_milestone(m),
            ABSENT,
            m.amount,
            entity,
            closed=side.is_closed(m.due_date),
        )
    held = _milestone(before, change.milestone_id)
    assert held is not None  # the diff only removes, moves or reprices what the side holds
    invoiced = held.id in side.invoiced
    if isinstance(change, MilestoneRemove):
        kind = DriftKind.INVOICED_OVER_CONTRACT if invoiced else DriftKind.MILESTONE_MISMATCH
        return Found(
            kind,
            DriftDetail.EXTRA,
            f"{path}.{held.id}",
            ABSENT,
            describe_milestone(held),
            held.amount,
            entity,
            invoiced=invoiced,
            closed=side.is_closed(held.due_date),
        )
    if isinstance(change, MilestoneReschedule):
        return Found(
            DriftKind.MILESTONE_MISMATCH,
            DriftDetail.RESCHEDULED,
            f"{path}.{held.id}.due_date",
            change.due_date.isoformat(),
            text_of(held.due_date),
            held.amount,
            ("billing_milestone", "due_date"),
            invoiced=invoiced,
            closed=side.is_closed(change.due_date, held.due_date),
        )
    over = invoiced and held.amount > change.amount
    return Found(
        DriftKind.INVOICED_OVER_CONTRACT if over else DriftKind.MILESTONE_MISMATCH,
        DriftDetail.REPRICED,
        f"{path}.{held.id}.amount",
        str(change.amount),
        str(held.amount),
        Money(amount=abs(held.amount.amount - change.amount.amount), currency=held.amount.currency),
        ("billing_milestone", "amount"),
        invoiced=invoiced,
        closed=side.is_closed(held.due_date),
    )


__all__ = [
    "ABSENT",
    "Found",
    "Side",
    "classify",
    "describe_milestone",
    "text_of",
    "value_delta",
    "value_of",
]
