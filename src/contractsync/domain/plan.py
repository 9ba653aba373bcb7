"""Amendment plans: the typed operations, conflicts and money impact of a contract version change."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from contractsync.domain.amendment import Change
from contractsync.domain.base import Document, ValueObject
from contractsync.domain.codes import Identifier
from contractsync.domain.money import Money

OperationState = Literal["pending", "already_applied"]
"""``pending``: the ERP still holds the prior value; ``already_applied``: it holds the amended one."""

_PCT_STEP = Decimal("0.0001")


def percent_change(before: Decimal, after: Decimal) -> Decimal | None:
    """Return ``after`` against ``before`` in percent (``15`` for +15 %), or None when before is 0."""
    if before == 0:
        return None
    return ((after - before) / before * 100).quantize(_PCT_STEP, rounding=ROUND_HALF_UP)


class PlannedOperation(ValueObject):
    """One typed change of a plan, where the ERP stands on it and what it is worth.

    ``change`` uses the same vocabulary as an :class:`~contractsync.domain.amendment.Amendment`,
    so applying every operation's change to the prior version yields the amended one.
    """

    change: Change
    state: OperationState = "pending"
    money_delta: Money | None = Field(
        default=None,
        description="Contract value after this operation minus before it (None if not computable).",
    )
    summary: str = Field(min_length=1, description="One human sentence saying what changes.")
    rate_change_pct: Decimal | None = Field(
        default=None,
        description=(
            "For a rate change (or the largest one inside a rate card replacement): the new rate "
            "against the rate in force on that date before the amendment, in percent."
        ),
    )
    days_moved: int | None = Field(
        default=None,
        description="For a term change or milestone reschedule: days the date moves (later > 0).",
    )

    @property
    def kind(self) -> str:
        """The change kind, e.g. ``rate_change``."""
        return self.change.kind

    @property
    def is_pending(self) -> bool:
        """True when the ERP still has to receive this change."""
        return self.state == "pending"


class ConflictCode(StrEnum):
    """Why an operation cannot simply be pushed to the ERP; values are stable machine codes."""

    EDITED_BY_HAND = "erp.edited_by_hand"
    """The ERP holds neither the prior nor the amended value: somebody edited it there."""
    MILESTONE_INVOICED = "milestone.already_invoiced"
    """The operation touches a milestone that is already on an invoice."""
    PERIOD_CLOSED = "period.closed"
    """The operation changes money dated in a closed accounting period."""


class Conflict(ValueObject):
    """A reason operation ``operation_index`` of a plan needs a human, with its evidence.

    ``evidence`` holds the values that prove it as text (for a hand edit: ``prior``, ``erp`` and
    ``amended``; for an invoice: the milestone and its amount; for a closed period: the dates).
    """

    code: ConflictCode
    message: str = Field(min_length=1)
    operation_index: int = Field(ge=0)
    evidence: dict[str, str] = Field(default_factory=dict)


class MoneyImpact(ValueObject):
    """What a plan does to the contract value, in the contract currency.

    ``per_line`` maps the id of each line whose value changes to its delta (an added line's whole
    value, a removed line's negated value); ``invoiced_amount_affected`` sums the invoiced
    milestones that pending operations touch.
    """

    value_before: Money
    value_after: Money
    delta: Money
    delta_pct: Decimal = Field(description="delta / value_before in percent; 0 if before is 0.")
    per_line: dict[str, Money] = Field(default_factory=dict)
    invoiced_amount_affected: Money

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.value_after - self.value_before != self.delta:
            raise ValueError("delta is not value_after - value_before")
        currencies = {self.delta.currency, self.invoiced_amount_affected.currency}
        currencies |= {m.currency for m in self.per_line.values()}
        if len(currencies) != 1:
            raise ValueError(f"money impact mixes currencies {sorted(currencies)}")
        return self

    @classmethod
    def between(
        cls,
        before: Money,
        after: Money,
        *,
        per_line: dict[str, Money] | None = None,
        invoiced_amount_affected: Money | None = None,
    ) -> MoneyImpact:
        """Build the impact of moving from ``before`` to ``after``, deriving delta and percent."""
        pct = percent_change(before.amount, after.amount)
        return cls(
            value_before=before,
            value_after=after,
            delta=after - before,
            delta_pct=Decimal(0) if pct is None else pct,
            per_line=dict(per_line or {}),
            invoiced_amount_affected=invoiced_amount_affected or Money.zero(before.currency),
        )


class AmendmentPlan(Document):
    """How to move contract ``contract_id`` from ``from_version`` to ``to_version`` in the ERP.

    The operations, applied in order to the prior version, give the amended version; each says
    whether the ERP still needs it. Conflicts name the operations a human must look at.
    """

    schema_name: ClassVar[str] = "amendment_plan"

    contract_id: Identifier
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    operations: tuple[PlannedOperation, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    impact: MoneyImpact

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.to_version < self.from_version:
            raise ValueError(f"to_version {self.to_version} is before {self.from_version}")
        for conflict in self.conflicts:
            if conflict.operation_index >= len(self.operations):
                raise ValueError(
                    f"conflict names operation {conflict.operation_index}, not in plan"
                )
        return self

    @property
    def is_empty(self) -> bool:
        """True when the two versions do not differ in anything the plan can express."""
        return not self.operations

    @property
    def has_conflicts(self) -> bool:
        """True when at least one operation needs a human before it is applied."""
        return bool(self.conflicts)

    @property
    def pending_operations(self) -> tuple[PlannedOperation, ...]:
        """The operations the ERP has not received yet, in plan order."""
        return tuple(op for op in self.operations if op.is_pending)

    def _has(self, code: ConflictCode) -> bool:
        return any(c.code is code for c in self.conflicts)

    def facts(self) -> dict[str, Any]:
        """Return the plain values the policy engine evaluates its rules against.

        Keys and types are a stable contract with the policy rules: ``operations`` (list[str]
        of change kinds), ``currency`` (str), ``value_delta`` and ``value_delta_pct`` (float),
        ``max_rate_change_pct`` (float, absolute), ``touches_invoiced_milestone``,
        ``touches_closed_period``, ``has_manual_edit_conflict`` and ``changes_legal_entity``
        (bool), ``term_change_days`` (int), ``conflict_codes`` (sorted list[str], no repeats)
        and ``operation_count`` (int).
        """
        rate_pcts = [abs(op.rate_change_pct) for op in self.operations if op.rate_change_pct]
        term_days = sum(op.days_moved or 0 for op in self.operations if op.kind == "term_change")
        return {
            "operations": [op.kind for op in self.operations],
            "currency": self.impact.delta.currency,
            "value_delta": float(self.impact.delta.amount),
            "value_delta_pct": float(self.impact.delta_pct),
            "max_rate_change_pct": float(max(rate_pcts, default=Decimal(0))),
            "touches_invoiced_milestone": self._has(ConflictCode.MILESTONE_INVOICED),
            "touches_closed_period": self._has(ConflictCode.PERIOD_CLOSED),
            "has_manual_edit_conflict": self._has(ConflictCode.EDITED_BY_HAND),
            "changes_legal_entity": any(op.kind == "legal_entity_change" for op in self.operations),
            "term_change_days": term_days,
            "conflict_codes": sorted({c.code.value for c in self.conflicts}),
            "operation_count": len(self.operations),
        }
