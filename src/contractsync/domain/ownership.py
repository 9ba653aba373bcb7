"""System-of-record ownership: which system may change which entity field."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from contractsync.domain.base import ValueObject


class SystemRole(StrEnum):
    """The role an external system plays; ownership is stated per role, not per vendor."""

    CRM = "crm"
    CLM = "clm"
    ESIGN = "esign"
    PSA = "psa"
    ERP = "erp"


class OwnershipRule(ValueObject):
    """``owner`` is the system of record for ``entity.field`` (``field`` may be ``*``)."""

    entity: str = Field(pattern=r"^[a-z_]+$")
    field: str = Field(default="*", pattern=r"^(\*|[a-z_][a-z0-9_.]*)$")
    owner: SystemRole


class OwnershipMap(ValueObject):
    """The ownership table. A field-specific rule beats the entity's ``*`` rule."""

    rules: tuple[OwnershipRule, ...]

    @model_validator(mode="after")
    def _no_duplicates(self) -> Self:
        keys = [(r.entity, r.field) for r in self.rules]
        if len(keys) != len(set(keys)):
            raise ValueError("the ownership map names one entity field twice")
        return self

    def owner_of(self, entity: str, field: str) -> SystemRole | None:
        """Return the system of record for ``entity.field``, or None if nobody owns it."""
        exact = wildcard = None
        for rule in self.rules:
            if rule.entity == entity and rule.field == field:
                exact = rule.owner
            elif rule.entity == entity and rule.field == "*":
                wildcard = rule.owner
        return exact or wildcard

    def may_change(self, system: SystemRole, entity: str, field: str) -> bool:
        """True when ``system`` is the system of record for ``entity.field``."""
        return self.owner_of(entity, field) == system


DEFAULT_OWNERSHIP = OwnershipMap(
    rules=(
        OwnershipRule(entity="customer", owner=SystemRole.CRM),
        OwnershipRule(entity="customer", field="tax_ids", owner=SystemRole.ERP),
        OwnershipRule(entity="opportunity", owner=SystemRole.CRM),
        OwnershipRule(entity="contract", owner=SystemRole.CLM),
        OwnershipRule(entity="contract", field="status", owner=SystemRole.CLM),
        OwnershipRule(entity="contract_line", owner=SystemRole.CLM),
        OwnershipRule(entity="rate_card", owner=SystemRole.CLM),
        OwnershipRule(entity="billing_milestone", owner=SystemRole.CLM),
        OwnershipRule(entity="billing_milestone", field="status", owner=SystemRole.PSA),
        OwnershipRule(entity="project", owner=SystemRole.PSA),
        OwnershipRule(entity="project", field="staffing", owner=SystemRole.PSA),
        OwnershipRule(entity="invoice", owner=SystemRole.ERP),
        OwnershipRule(entity="revenue_schedule", owner=SystemRole.ERP),
        OwnershipRule(entity="tax", owner=SystemRole.ERP),
    )
)
"""CRM owns accounts and opportunities, CLM the contract terms, PSA staffing and milestone
completion, ERP invoices, revenue and tax. Override it in ``contractsync.yaml``."""
