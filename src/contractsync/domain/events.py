"""Business events: past-tense facts the hub publishes (CloudEvents ``type`` values)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import AwareDatetime, Field

from contractsync.domain.base import Document


class EventType(StrEnum):
    """Every event type contractsync publishes; NATS subjects are ``contractsync.<type>``."""

    CONTRACT_APPROVED = "contract.approved"
    CONTRACT_ACTIVATED = "contract.activated"
    PROJECT_ACTIVATED = "project.activated"
    MILESTONE_COMPLETED = "milestone.completed"
    BILLING_READY = "billing.ready"
    INVOICE_CREATED = "invoice.created"
    REVENUE_UPDATED = "revenue.updated"
    AMENDMENT_PLANNED = "amendment.planned"
    AMENDMENT_APPLIED = "amendment.applied"
    AMENDMENT_ROUTED = "amendment.routed"
    AMENDMENT_REJECTED = "amendment.rejected"
    CONTRACT_RENEWED = "contract.renewed"
    CONTRACT_TERMINATED = "contract.terminated"
    EXCEPTION_RAISED = "exception.raised"
    EXCEPTION_RESOLVED = "exception.resolved"
    DRIFT_FOUND = "reconciliation.drift_found"
    RECONCILIATION_COMPLETED = "reconciliation.completed"


class BusinessEvent(Document):
    """One fact, with the contract lineage id that correlates it from CLM event to ERP invoice.

    ``id`` is unique per fact and deterministic where the fact has a business key, so that
    publishing it twice is recognised as one event downstream (``Nats-Msg-Id``).
    """

    schema_name: ClassVar[str] = "business_event"

    id: str = Field(min_length=1, max_length=255)
    type: EventType
    subject: str = Field(min_length=1, max_length=255, description="The record the fact is about.")
    correlation_id: str = Field(min_length=1, max_length=255, description="Contract lineage id.")
    occurred_at: AwareDatetime
    data: dict[str, Any] = Field(default_factory=dict)
