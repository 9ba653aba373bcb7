"""A policy decision: apply a plan automatically, or route it to an accountable owner."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from contractsync.domain.base import ValueObject
from contractsync.domain.roles import OwnerRole


class DecisionAction(StrEnum):
    """What happens to an amendment plan once a policy has looked at it."""

    AUTO_APPLY = "auto_apply"
    """Apply the plan without a human."""
    ROUTE = "route"
    """Hold the plan until its owner approves or rejects it."""


class PolicyDecision(ValueObject):
    """The outcome of a policy, with the rule and the policy version that produced it.

    A routed decision always names its ``owner``; an automatic one never does. ``rule_id`` is
    the id of the rule that matched, ``default`` when none did, or the id of a safety guard
    built into the engine.
    """

    action: DecisionAction
    owner: OwnerRole | None = Field(default=None, description="Who must approve; set on route.")
    reason: str = Field(min_length=1, description="Why, in words the owner understands.")
    rule_id: str = Field(min_length=1)
    policy_name: str = Field(min_length=1)
    policy_version: str = Field(min_length=1)

    @model_validator(mode="after")
    def _owner_iff_routed(self) -> Self:
        if self.action is DecisionAction.ROUTE and self.owner is None:
            raise ValueError(f"rule {self.rule_id} routes the plan but names no owner")
        if self.action is DecisionAction.AUTO_APPLY and self.owner is not None:
            raise ValueError(
                f"rule {self.rule_id} applies the plan automatically yet names an owner"
            )
        return self

    @property
    def is_routed(self) -> bool:
        """True when a human owner must approve the plan before it is applied."""
        return self.action is DecisionAction.ROUTE
