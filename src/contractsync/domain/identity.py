"""How one canonical record is known in each external system."""

from __future__ import annotations

from pydantic import Field

from contractsync.domain.base import ValueObject


class ExternalRef(ValueObject):
    """A (system, kind, id) triple naming one record in one external system.

    ``system`` is the configured system name (``tryton``, ``salesforce`` ...), ``kind`` the
    record type there (``party``, ``project``, ``Account`` ...) and ``id`` the system's own key.
    """

    system: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")
    kind: str = Field(min_length=1, max_length=64)
    id: str = Field(min_length=1, max_length=255)

    def __str__(self) -> str:
        return f"{self.system}:{self.kind}:{self.id}"
