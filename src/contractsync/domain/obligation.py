"""Clause-derived duties such as payment terms, invoicing deadlines and SLA credits."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from contractsync.domain.base import ValueObject
from contractsync.domain.codes import Identifier


class ObligationKind(StrEnum):
    """The kinds of duty a contract clause can impose."""

    PAYMENT_TERMS = "payment_terms"
    """The customer pays within ``days`` of the invoice date."""
    INVOICING_DEADLINE = "invoicing_deadline"
    """We must invoice within ``days`` of the billable event."""
    SLA_CREDIT = "sla_credit"
    """A service credit of ``percent`` of the period fee when the SLA is missed."""
    ACCEPTANCE_WINDOW = "acceptance_window"
    """The customer accepts or rejects a deliverable within ``days``; silence is acceptance."""
    NOTICE_PERIOD = "notice_period"
    """Termination for convenience needs ``days`` of written notice."""


_NEEDS_DAYS = {
    ObligationKind.PAYMENT_TERMS,
    ObligationKind.INVOICING_DEADLINE,
    ObligationKind.ACCEPTANCE_WINDOW,
    ObligationKind.NOTICE_PERIOD,
}


class Obligation(ValueObject):
    """One duty taken from a clause, with the parameter that makes it checkable."""

    id: Identifier
    kind: ObligationKind
    clause: str = Field(default="", max_length=64, description="Clause reference, e.g. '7.2'.")
    description: str = Field(default="", max_length=1000)
    days: int | None = Field(default=None, ge=0, le=3650)
    percent: Decimal | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _has_parameter(self) -> Self:
        if self.kind in _NEEDS_DAYS and self.days is None:
            raise ValueError(f"obligation {self.id} ({self.kind}) needs 'days'")
        if self.kind is ObligationKind.SLA_CREDIT and self.percent is None:
            raise ValueError(f"obligation {self.id} (sla_credit) needs 'percent'")
        return self
