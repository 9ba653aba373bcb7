"""Drift: where an external system no longer says what the contract says, and what it costs."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from contractsync.domain.base import ValueObject
from contractsync.domain.money import Money
from contractsync.domain.ownership import SystemRole
from contractsync.domain.roles import OwnerRole


class DriftKind(StrEnum):
    """What kind of difference reconciliation found between the CLM terms and a system."""

    MISSING_IN_ERP = "missing_in_erp"
    """An approved contract the ERP does not hold."""
    MISSING_IN_PSA = "missing_in_psa"
    """An approved contract without a delivery project in the PSA."""
    MISSING_IN_CRM = "missing_in_crm"
    """The contract's customer has no account in the CRM."""
    ORPHAN_RECORD = "orphan_record"
    """The ERP or PSA holds a contract or project no CLM contract stands behind."""
    RATE_MISMATCH = "rate_mismatch"
    """A rate card or one role's rate differs."""
    MILESTONE_MISMATCH = "milestone_mismatch"
    """A billing milestone is missing, extra, rescheduled, repriced or renamed."""
    AMOUNT_MISMATCH = "amount_mismatch"
    """A line amount, a not-to-exceed cap, a fee or the contract currency differs."""
    TERM_MISMATCH = "term_mismatch"
    """The term dates, or other commercial terms (payment terms, tax treatment), differ."""
    LEGAL_ENTITY_MISMATCH = "legal_entity_mismatch"
    """The contract is booked by another of our legal entities."""
    CUSTOMER_MISMATCH = "customer_mismatch"
    """The contract is booked to another customer."""
    SCOPE_MISMATCH = "scope_mismatch"
    """A service line is missing, extra, or delivers something else (model, service, title)."""
    INVOICED_OVER_CONTRACT = "invoiced_over_contract"
    """More was invoiced than the contract allows for a milestone or a line."""


class DriftDetail(StrEnum):
    """How the system differs from the contract, in one word (a policy fact)."""

    MISSING = "missing"
    """The system lacks something the contract has."""
    EXTRA = "extra"
    """The system has something the contract does not."""
    REPRICED = "repriced"
    RESCHEDULED = "rescheduled"
    RENAMED = "renamed"
    CHANGED = "changed"


class DriftItem(ValueObject):
    """One difference between the CLM contract (expected) and one system (actual).

    ``field`` is a dotted path into the contract (``lines.L1.milestones.M2.amount``);
    ``system_of_record`` is the role the ownership map makes the owner of that field;
    ``healable`` says whether re-pushing the contract to the system would restore it without
    touching an invoiced milestone, a closed period or a field the system itself owns;
    ``unhealable_reason`` says why not when it is False.
    """

    contract_id: str = Field(min_length=1)
    kind: DriftKind
    detail: DriftDetail
    system: str = Field(min_length=1, description="The configured system name (refs use it).")
    role: SystemRole
    field: str = Field(min_length=1)
    expected: str = Field(description="What the CLM contract says, as text.")
    actual: str = Field(description="What the system holds, as text.")
    money_at_risk: Money | None = None
    system_of_record: SystemRole | None = None
    healable: bool = False
    unhealable_reason: str | None = None
    touches_invoiced_milestone: bool = False
    touches_closed_period: bool = False
    evidence: dict[str, Any] = Field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """The key of this drift's ExceptionItem: one open item per contract, system, kind, field."""
        return f"reconciliation:{self.contract_id}:{self.system}:{self.kind.value}:{self.field}"


class DriftOutcome(StrEnum):
    """What a reconciliation run did about one drift item."""

    HEALED = "healed"
    """Re-pushed to the system and verified gone."""
    EXCEPTION = "exception"
    """Raised (or already open) as an ExceptionItem for its owner."""
    REPORTED = "reported"
    """Healable, but the run was told not to heal (``--no-heal``)."""


class ReportLine(ValueObject):
    """One drift item with what was done about it and the rule that decided it."""

    item: DriftItem
    outcome: DriftOutcome
    rule_id: str
    reason: str
    owner: OwnerRole | None = None
    exception_id: str | None = None

    @property
    def is_unhealed(self) -> bool:
        """True unless the drift was healed."""
        return self.outcome is not DriftOutcome.HEALED


class SystemFailure(ValueObject):
    """A system that could not be read or written for a contract; the run went on without it.

    Transient failures are only reported (the next run tries again); others are raised as
    an ExceptionItem (``exception_id``).
    """

    system: str
    role: SystemRole
    contract_id: str | None = None
    code: str
    message: str
    is_transient: bool = False
    error_kind: str = Field(default="", description="The error class (ConfigError ...).")
    exception_id: str | None = None


class ContractReconciliation(ValueObject):
    """Everything one run found for one contract.

    ``notes`` say what the run compared against when it is not simply the CLM's latest
    version (a version the hub's owner rejected); a note is never drift.
    """

    contract_id: str
    lines: tuple[ReportLine, ...] = ()
    failures: tuple[SystemFailure, ...] = ()
    notes: tuple[str, ...] = ()


class ReconciliationReport(ValueObject):
    """The result of one reconciliation run, per contract, with its totals.

    ``systems`` names the system compared in each role; a role that is absent was not
    compared. ``failures`` holds the failures that belong to no single contract (a listing).
    """

    started_at: AwareDatetime
    finished_at: AwareDatetime
    systems: dict[SystemRole, str]
    healing: bool = True
    contracts: tuple[ContractReconciliation, ...] = ()
    failures: tuple[SystemFailure, ...] = ()

    @property
    def lines(self) -> list[ReportLine]:
        """Every report line of every contract, in run order."""
        return [line for contract in self.contracts for line in contract.lines]

    @property
    def notes(self) -> list[str]:
        """Every contract's notes, in run order (they never make a report unclean)."""
        return [note for contract in self.contracts for note in contract.notes]

    @property
    def all_failures(self) -> list[SystemFailure]:
        """Every failure, per contract and global."""
        return [*(f for c in self.contracts for f in c.failures), *self.failures]

    @property
    def unhealed(self) -> list[ReportLine]:
        """The lines whose drift is still there after the run."""
        return [line for line in self.lines if line.is_unhealed]

    def money_at_risk(self, *, unhealed_only: bool = False) -> dict[str, Money]:
        """The money at risk summed per currency (lines without an amount add nothing)."""
        totals: dict[str, Money] = {}
        for line in self.unhealed if unhealed_only else self.lines:
            money = line.item.money_at_risk
            if money is not None:
                totals[money.currency] = totals.get(money.currency, Money.zero(money.currency))
                totals[money.currency] = totals[money.currency] + money
        return dict(sorted(totals.items()))

    def counts_by_kind(self) -> dict[DriftKind, int]:
        """How many drift items of each kind were found, most frequent first."""
        return dict(Counter(line.item.kind for line in self.lines).most_common())

    @property
    def is_clean(self) -> bool:
        """True when no drift is left unhealed and every system could be read."""
        return not self.unhealed and not self.all_failures


__all__ = [
    "ContractReconciliation",
    "DriftDetail",
    "DriftItem",
    "DriftKind",
    "DriftOutcome",
    "ReconciliationReport",
    "ReportLine",
    "SystemFailure",
]
