"""The contract aggregate (MSA, SOW, change order) and its lifecycle."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from contractsync.domain.base import Document
from contractsync.domain.codes import CurrencyCode, Identifier
from contractsync.domain.contract_line import ContractLine, FixedFee
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.obligation import Obligation, ObligationKind
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import RateCard
from contractsync.domain.tax import TaxTreatment
from contractsync.errors import IllegalTransitionError


class ContractKind(StrEnum):
    """The document type: a master agreement, a statement of work or a change order."""

    MSA = "msa"
    SOW = "sow"
    CHANGE_ORDER = "change_order"


class ContractStatus(StrEnum):
    """Lifecycle of a contract; see :data:`CONTRACT_TRANSITIONS` for the allowed moves."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    TERMINATED = "terminated"


S = ContractStatus
CONTRACT_TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    S.DRAFT: frozenset({S.IN_REVIEW, S.TERMINATED}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.DRAFT, S.TERMINATED}),
    S.APPROVED: frozenset({S.ACTIVE, S.TERMINATED}),
    S.ACTIVE: frozenset({S.SUSPENDED, S.EXPIRED, S.TERMINATED}),
    S.SUSPENDED: frozenset({S.ACTIVE, S.TERMINATED}),
    S.EXPIRED: frozenset({S.ACTIVE}),  # a renewal re-activates an expired contract
    S.TERMINATED: frozenset(),
}
"""Allowed status moves. Nothing leaves TERMINATED; only an approved contract is activated."""


class Contract(Document):
    """One version of a contract: parties, term, lines, rate cards and obligations.

    A contract is immutable; every change (an amendment, a status move) yields a new value.
    ``version`` counts from 1 and goes up by one with each applied amendment.
    """

    schema_name: ClassVar[str] = "contract"

    id: Identifier = Field(description="Canonical contract id; also the lineage (correlation) id.")
    kind: ContractKind = ContractKind.SOW
    title: str = Field(min_length=1, max_length=255)
    parent_id: Identifier | None = Field(default=None, description="The MSA a SOW belongs to.")
    customer_id: Identifier
    legal_entity_code: Identifier
    currency: CurrencyCode
    term: Term
    status: ContractStatus = ContractStatus.DRAFT
    version: int = Field(default=1, ge=1)
    tax_treatment: TaxTreatment | None = None
    payment_terms_days: int | None = Field(
        default=None, ge=0, le=365, description="Overrides the legal entity's default terms."
    )
    lines: tuple[ContractLine, ...] = ()
    rate_cards: tuple[RateCard, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    refs: tuple[ExternalRef, ...] = ()

    @model_validator(mode="after")
    def _structure(self) -> Self:
        line_ids = [line.id for line in self.lines]
        if len(line_ids) != len(set(line_ids)):
            raise ValueError("line ids repeat within the contract")
        milestone_ids = [m.id for _, m in self.milestones()]
        if len(milestone_ids) != len(set(milestone_ids)):
            raise ValueError("milestone ids repeat within the contract")
        card_ids = [card.id for card in self.rate_cards]
        if len(card_ids) != len(set(card_ids)):
            raise ValueError("rate card ids repeat within the contract")
        for line in self.lines:
            if line.term is not None and not (
                self.term.contains(line.term.start) and self.term.contains(line.term.end)
            ):
                raise ValueError(f"line {line.id} runs outside the contract term")
        return self

    def line(self, line_id: str) -> ContractLine | None:
        """Return the line with ``line_id``, if there is one."""
        return next((line for line in self.lines if line.id == line_id), None)

    def line_term(self, line: ContractLine) -> Term:
        """The term a line runs over (its own, else the contract's)."""
        return line.term or self.term

    def rate_card(self, rate_card_id: str) -> RateCard | None:
        """Return the rate card with ``rate_card_id``, if there is one."""
        return next((card for card in self.rate_cards if card.id == rate_card_id), None)

    def milestones(self) -> list[tuple[ContractLine, BillingMilestone]]:
        """Every billing milestone with the line it belongs to, in document order."""
        return [
            (line, m)
            for line in self.lines
            if isinstance(line.billing, FixedFee)
            for m in line.billing.milestones
        ]

    def payment_terms(self, default_days: int) -> int:
        """Days the customer has to pay: the payment-terms clause, else the override, else default."""
        for obligation in self.obligations:
            if obligation.kind is ObligationKind.PAYMENT_TERMS and obligation.days is not None:
                return obligation.days
        return self.payment_terms_days if self.payment_terms_days is not None else default_days

    def transition_to(self, status: ContractStatus) -> Contract:
        """Return this contract in ``status``.

        Raises:
            IllegalTransitionError: if :data:`CONTRACT_TRANSITIONS` forbids the move.
        """
        if status not in CONTRACT_TRANSITIONS[self.status]:
            raise IllegalTransitionError(
                f"contract {self.id} cannot go from {self.status} to {status}",
                detail={"contract": self.id, "allowed": sorted(CONTRACT_TRANSITIONS[self.status])},
            )
        return self.model_copy(update={"status": status})

    def is_in_force_on(self, day: date) -> bool:
        """True when the contract is active and ``day`` is inside its term."""
        return self.status is ContractStatus.ACTIVE and self.term.contains(day)
