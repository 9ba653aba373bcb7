"""Billing milestones and their status lifecycle (planned -> ready -> invoiced)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from contractsync.domain.base import ValueObject
from contractsync.domain.codes import Identifier
from contractsync.domain.money import Money
from contractsync.errors import IllegalTransitionError


class MilestoneStatus(StrEnum):
    """Where a milestone stands on its way to an invoice."""

    PLANNED = "planned"
    READY = "ready"
    INVOICED = "invoiced"


_MILESTONE_MOVES: dict[MilestoneStatus, frozenset[MilestoneStatus]] = {
    MilestoneStatus.PLANNED: frozenset({MilestoneStatus.READY}),
    MilestoneStatus.READY: frozenset({MilestoneStatus.INVOICED, MilestoneStatus.PLANNED}),
    MilestoneStatus.INVOICED: frozenset(),
}


class BillingMilestone(ValueObject):
    """A fixed-fee payment point: an amount due on a date or on a trigger.

    ``due_date`` is the planned date (also used to forecast invoices and revenue); a
    milestone with only a ``trigger`` is forecast at the end of its line's term.
    """

    id: Identifier
    name: str = Field(min_length=1, max_length=255)
    amount: Money
    due_date: date | None = None
    trigger: str | None = Field(default=None, max_length=255)
    acceptance_required: bool = False
    status: MilestoneStatus = MilestoneStatus.PLANNED

    @model_validator(mode="after")
    def _dated_or_triggered(self) -> Self:
        if self.due_date is None and not self.trigger:
            raise ValueError(f"milestone {self.id} needs a due_date or a trigger")
        if self.amount.is_negative:
            raise ValueError(f"milestone {self.id} has a negative amount")
        return self

    def move_to(self, status: MilestoneStatus) -> BillingMilestone:
        """Return this milestone in ``status``.

        Raises:
            IllegalTransitionError: if the lifecycle does not allow the move
                (an invoiced milestone never changes status again).
        """
        if status not in _MILESTONE_MOVES[self.status]:
            raise IllegalTransitionError(
                f"milestone {self.id} cannot go from {self.status} to {status}",
                detail={"allowed": sorted(_MILESTONE_MOVES[self.status])},
            )
        return self.model_copy(update={"status": status})
