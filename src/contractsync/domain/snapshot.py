"""What the ERP holds for a contract right now, expressed in canonical terms."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract


class FinancialSnapshot(ValueObject):
    """The live ERP state of one contract, read back and mapped to the canonical model.

    ``contract`` is the contract as the ERP has it (which may differ from any CLM version when
    somebody edited the ERP by hand); ``invoiced_milestone_ids`` are milestones already on an
    invoice; ``closed_through`` is the last day of the last closed accounting period;
    ``project_closed`` is True once the ERP's project of the contract is closed (a terminated
    contract's, through ``FinancialSystem.close_project``).
    """

    contract: Contract
    invoiced_milestone_ids: frozenset[str] = frozenset()
    closed_through: date | None = Field(default=None)
    project_closed: bool = False

    def is_closed(self, day: date) -> bool:
        """True when ``day`` falls in a closed accounting period."""
        return self.closed_through is not None and day <= self.closed_through
