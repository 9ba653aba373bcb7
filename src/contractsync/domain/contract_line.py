"""Service lines of a contract and their billing models."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from contractsync.domain.base import ValueObject
from contractsync.domain.codes import Identifier
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term


class BillingModel(StrEnum):
    """How a service line is priced and billed."""

    FIXED_FEE = "fixed_fee"
    TIME_AND_MATERIALS = "time_and_materials"
    RETAINER = "retainer"
    SUBSCRIPTION = "subscription"


class FixedFee(ValueObject):
    """A fixed price billed by milestones; the milestones should add up to ``amount``."""

    model: Literal[BillingModel.FIXED_FEE] = BillingModel.FIXED_FEE
    amount: Money
    milestones: tuple[BillingMilestone, ...] = ()

    @model_validator(mode="after")
    def _unique_milestones(self) -> Self:
        ids = [m.id for m in self.milestones]
        if len(ids) != len(set(ids)):
            raise ValueError("milestone ids repeat within the line")
        if self.amount.is_negative:
            raise ValueError("fixed fee amount is negative")
        return self

    def milestone(self, milestone_id: str) -> BillingMilestone | None:
        """Return the milestone with ``milestone_id``, if the line has it."""
        return next((m for m in self.milestones if m.id == milestone_id), None)


class RoleHours(ValueObject):
    """Estimated hours of one role over the line's term."""

    role: str = Field(min_length=1, max_length=64)
    hours: Decimal = Field(gt=0, le=1_000_000)


class TimeAndMaterials(ValueObject):
    """Hours billed at rate-card rates, monthly in arrears, never above the ``cap`` if set."""

    model: Literal[BillingModel.TIME_AND_MATERIALS] = BillingModel.TIME_AND_MATERIALS
    rate_card_id: Identifier
    estimate: tuple[RoleHours, ...] = Field(
        default=(), description="Forecast hours per role, spread evenly by day over the term."
    )
    cap: Money | None = Field(default=None, description="Not-to-exceed amount for the line.")

    @model_validator(mode="after")
    def _sane(self) -> Self:
        roles = [e.role for e in self.estimate]
        if len(roles) != len(set(roles)):
            raise ValueError("estimate lists a role twice")
        if self.cap is not None and self.cap.is_negative:
            raise ValueError("cap is negative")
        return self


class Retainer(ValueObject):
    """A monthly fee billed in advance; partial months are prorated by days."""

    model: Literal[BillingModel.RETAINER] = BillingModel.RETAINER
    monthly_fee: Money

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.monthly_fee.is_negative:
            raise ValueError("monthly_fee is negative")
        return self


class SubscriptionPeriod(StrEnum):
    """Length of one subscription billing period."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """Calendar months in one period."""
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.value]


class Subscription(ValueObject):
    """A price per period billed in advance; a partial last period is prorated by days."""

    model: Literal[BillingModel.SUBSCRIPTION] = BillingModel.SUBSCRIPTION
    period: SubscriptionPeriod = SubscriptionPeriod.MONTHLY
    price_per_period: Money

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.price_per_period.is_negative:
            raise ValueError("price_per_period is negative")
        return self


BillingTerms = Annotated[
    FixedFee | TimeAndMaterials | Retainer | Subscription, Field(discriminator="model")
]


class ContractLine(ValueObject):
    """One service line: what is delivered (``service_code``), when, and how it is billed."""

    id: Identifier
    description: str = Field(min_length=1, max_length=500)
    service_code: Identifier = Field(description="Service (product) code in the catalogue.")
    term: Term | None = Field(default=None, description="Defaults to the contract term.")
    billing: BillingTerms

    @property
    def model(self) -> BillingModel:
        """The billing model of the line."""
        return self.billing.model

    def amounts(self) -> list[Money]:
        """Every Money amount stated on the line (for currency checks)."""
        billing = self.billing
        if isinstance(billing, FixedFee):
            return [billing.amount, *(m.amount for m in billing.milestones)]
        if isinstance(billing, TimeAndMaterials):
            return [billing.cap] if billing.cap is not None else []
        if isinstance(billing, Retainer):
            return [billing.monthly_fee]
        return [billing.price_per_period]
