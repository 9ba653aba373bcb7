"""A validation finding: one reason a contract is not ready, with who fixes it and how."""

from __future__ import annotations

from pydantic import Field

from contractsync.domain.base import ValueObject
from contractsync.domain.roles import OwnerRole, Severity


class Finding(ValueObject):
    """A broken business rule found while checking a contract.

    ``code`` is stable (``customer.tax_id_missing`` ...); ``field`` is a dotted path into the
    contract or customer document when the finding is about one field.
    """

    code: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    owner: OwnerRole
    severity: Severity = Severity.HIGH
    message: str
    remediation: str
    field: str | None = None

    @property
    def is_blocking(self) -> bool:
        """True when the contract must not be activated until this is fixed."""
        return self.severity in {Severity.HIGH, Severity.CRITICAL}
