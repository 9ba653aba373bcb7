"""DTOs of the amendment dry run: the request, the plan and the policy decision."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from contractsync.domain.amendment import Amendment
from contractsync.domain.contract import Contract
from contractsync.entrypoints.api.masking import free_form, priced
from contractsync.entrypoints.api.schemas.common import Dto, MaskedResponse, MoneyView


class PlanRequest(Dto):
    """What to plan: an Amendment document, or the amended contract version itself."""

    amendment: Amendment | None = Field(
        default=None, description="A canonical Amendment against the current version."
    )
    contract: Contract | None = Field(
        default=None, description="The amended contract version (a full canonical Contract)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.amendment is None) == (self.contract is None):
            raise ValueError("give exactly one of 'amendment' or 'contract'")
        return self


class OperationView(Dto):
    """One typed change of the plan and where the ERP stands on it."""

    kind: str = Field(description="The change kind, e.g. rate_change or term_change.")
    state: str = Field(description="pending (the ERP still needs it) or already_applied.")
    change: dict[str, Any] | None = free_form("The typed change, as in an Amendment.")
    summary: str | None = priced("One sentence saying what changes (it quotes prices).")
    money_delta: MoneyView | None = priced("Contract value after this operation minus before.")
    rate_change_pct: str | None = priced("New rate against the prior one, in percent.")
    days_moved: int | None = None


class ConflictView(Dto):
    """Why an operation needs a human before it is applied."""

    code: str
    operation_index: int = Field(ge=0)
    message: str | None = priced("What conflicts (it quotes the values).")
    evidence: dict[str, str] | None = priced("The prior, ERP and amended values.")


class ImpactView(Dto):
    """What the plan does to the contract value."""

    value_before: MoneyView | None = priced("Contract value before.")
    value_after: MoneyView | None = priced("Contract value after.")
    delta: MoneyView | None = priced("value_after - value_before.")
    delta_pct: str | None = priced("delta / value_before in percent.")
    per_line: dict[str, MoneyView] | None = priced("Value change per line id.")
    invoiced_amount_affected: MoneyView | None = priced("Invoiced milestones touched.")


class DecisionView(Dto):
    """What the amendment policy decided, and the rule that decided it."""

    action: str = Field(description="auto_apply or route.")
    owner: str | None = Field(default=None, description="Who must approve, when routed.")
    reason: str
    rule_id: str
    policy_name: str
    policy_version: str


class PlanResponse(MaskedResponse):
    """A dry-run amendment plan with its policy decision; nothing was written."""

    dry_run: Literal[True] = True
    contract_id: str
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    erp_state: Literal["stored_snapshot", "assumed_current"] = Field(
        description="stored_snapshot: planned against the last ERP state the hub read; "
        "assumed_current: none stored, so the ERP is assumed to hold the current version "
        "with nothing invoiced and no closed period."
    )
    operations: list[OperationView]
    conflicts: list[ConflictView]
    impact: ImpactView
    decision: DecisionView


__all__ = [
    "ConflictView",
    "DecisionView",
    "ImpactView",
    "OperationView",
    "PlanRequest",
    "PlanResponse",
]
