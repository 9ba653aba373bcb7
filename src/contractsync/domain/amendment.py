"""Amendments: a numbered, dated set of typed changes against one contract version."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator

from contractsync.domain.base import Document, ValueObject
from contractsync.domain.codes import Identifier
from contractsync.domain.contract_line import ContractLine
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.rate_card import RateCard


class RateChange(ValueObject):
    """A role's hourly rate changes from ``effective_from`` on."""

    kind: Literal["rate_change"] = "rate_change"
    rate_card_id: Identifier
    role: str = Field(min_length=1, max_length=64)
    hourly: Money
    effective_from: date


class MilestoneAdd(ValueObject):
    """A new milestone on a fixed-fee line; the line amount grows by its amount."""

    kind: Literal["milestone_add"] = "milestone_add"
    line_id: Identifier
    milestone: BillingMilestone


class MilestoneRemove(ValueObject):
    """A milestone is dropped; the line amount shrinks by its amount."""

    kind: Literal["milestone_remove"] = "milestone_remove"
    line_id: Identifier
    milestone_id: Identifier


class MilestoneReschedule(ValueObject):
    """A milestone moves to a new due date."""

    kind: Literal["milestone_reschedule"] = "milestone_reschedule"
    line_id: Identifier
    milestone_id: Identifier
    due_date: date


class MilestoneReprice(ValueObject):
    """A milestone gets a new amount; the line amount moves by the difference."""

    kind: Literal["milestone_reprice"] = "milestone_reprice"
    line_id: Identifier
    milestone_id: Identifier
    amount: Money


class TermChange(ValueObject):
    """The contract end date moves (an extension, or a shortening).

    Lines that ran to the old end date run to the new one; lines that ended earlier keep
    their term.
    """

    kind: Literal["term_change"] = "term_change"
    end: date


class CapChange(ValueObject):
    """A time-and-materials line gets a new not-to-exceed cap (None lifts it)."""

    kind: Literal["cap_change"] = "cap_change"
    line_id: Identifier
    cap: Money | None


class ScopeLineAdd(ValueObject):
    """A new service line is added."""

    kind: Literal["scope_line_add"] = "scope_line_add"
    line: ContractLine


class ScopeLineRemove(ValueObject):
    """A service line is removed."""

    kind: Literal["scope_line_remove"] = "scope_line_remove"
    line_id: Identifier


class ScopeLineChange(ValueObject):
    """A service line is replaced as a whole (any change no narrower type describes)."""

    kind: Literal["scope_line_change"] = "scope_line_change"
    line: ContractLine


class RateCardReplace(ValueObject):
    """A rate card is added or replaced as a whole."""

    kind: Literal["rate_card_replace"] = "rate_card_replace"
    rate_card: RateCard


class LegalEntityChange(ValueObject):
    """The contract moves to another of our legal entities."""

    kind: Literal["legal_entity_change"] = "legal_entity_change"
    legal_entity_code: Identifier


Change = Annotated[
    RateChange
    | MilestoneAdd
    | MilestoneRemove
    | MilestoneReschedule
    | MilestoneReprice
    | TermChange
    | CapChange
    | ScopeLineAdd
    | ScopeLineRemove
    | ScopeLineChange
    | RateCardReplace
    | LegalEntityChange,
    Field(discriminator="kind"),
]
"""Any one typed change an amendment (or an amendment plan) can carry."""


class Amendment(Document):
    """Amendment ``sequence`` to contract ``contract_id``, written against ``base_version``."""

    schema_name: ClassVar[str] = "amendment"

    id: Identifier
    contract_id: Identifier
    sequence: int = Field(ge=1, description="1 for the first amendment, 2 for the next ...")
    base_version: int = Field(ge=1, description="The contract version the changes apply to.")
    effective_date: date
    title: str = Field(default="", max_length=255)
    changes: tuple[Change, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _sequence_follows_version(self) -> Self:
        # Version 1 is the signed contract, so amendment n applies to version n.
        if self.base_version != self.sequence:
            raise ValueError(
                f"amendment {self.sequence} must apply to contract version {self.sequence}, "
                f"not {self.base_version}"
            )
        return self
