"""The people who own a decision or an exception, by role."""

from __future__ import annotations

from enum import StrEnum


class OwnerRole(StrEnum):
    """Who must act: the accountable team for a finding, a routed plan or an exception item."""

    LEGAL = "legal"
    FINANCE = "finance"
    DELIVERY = "delivery"
    INTEGRATION_ADMIN = "integration_admin"


class Severity(StrEnum):
    """How bad it is if nobody acts."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
