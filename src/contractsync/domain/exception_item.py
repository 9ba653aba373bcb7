"""ExceptionItem: work the hub could not finish on its own, routed to an accountable owner."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import AwareDatetime, Field

from contractsync.domain.base import Document, ValueObject
from contractsync.domain.codes import Identifier
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import IllegalTransitionError


class ExceptionStatus(StrEnum):
    """open -> assigned -> resolved | retried | dismissed (a failed retry re-opens)."""

    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    RETRIED = "retried"
    DISMISSED = "dismissed"


E = ExceptionStatus
EXCEPTION_TRANSITIONS: dict[ExceptionStatus, frozenset[ExceptionStatus]] = {
    E.OPEN: frozenset({E.ASSIGNED, E.RESOLVED, E.RETRIED, E.DISMISSED}),
    E.ASSIGNED: frozenset({E.ASSIGNED, E.RESOLVED, E.RETRIED, E.DISMISSED}),
    E.RETRIED: frozenset({E.OPEN, E.RESOLVED}),
    E.RESOLVED: frozenset(),
    E.DISMISSED: frozenset(),
}


class ExceptionAction(ValueObject):
    """One step in an item's history: who did what, when, and why."""

    at: AwareDatetime
    actor: str
    action: str
    status: ExceptionStatus
    note: str = ""


class ExceptionItem(Document):
    """A problem that needs a person, with the evidence and the money at stake."""

    schema_name: ClassVar[str] = "exception_item"

    id: Identifier
    code: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    message: str
    owner: OwnerRole
    severity: Severity = Severity.MEDIUM
    money_at_risk: Money | None = None
    sla_due: AwareDatetime
    status: ExceptionStatus = ExceptionStatus.OPEN
    contract_id: Identifier | None = None
    subject: ExternalRef | None = None
    assignee: str | None = None
    remediation: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    created_at: AwareDatetime
    history: tuple[ExceptionAction, ...] = ()

    def _move(
        self,
        status: ExceptionStatus,
        *,
        actor: str,
        action: str,
        at: datetime,
        note: str,
        **update: Any,
    ) -> ExceptionItem:
        if status not in EXCEPTION_TRANSITIONS[self.status]:
            raise IllegalTransitionError(
                f"exception {self.id} is {self.status}; it cannot be {action}",
                code="exception.illegal_action",
                detail={"allowed": sorted(EXCEPTION_TRANSITIONS[self.status])},
            )
        entry = ExceptionAction(at=at, actor=actor, action=action, status=status, note=note)
        return self.model_copy(
            update={"status": status, "history": (*self.history, entry), **update}
        )

    def assign(self, assignee: str, *, actor: str, at: datetime) -> ExceptionItem:
        """Give the item to ``assignee``."""
        return self._move(
            E.ASSIGNED, actor=actor, action="assigned", at=at, note=assignee, assignee=assignee
        )

    def retry(self, *, actor: str, at: datetime) -> ExceptionItem:
        """Mark the item retried; the work it stands for runs again."""
        return self._move(E.RETRIED, actor=actor, action="retried", at=at, note="")

    def reopen(self, *, actor: str, at: datetime, note: str) -> ExceptionItem:
        """Re-open a retried item whose retry failed again."""
        return self._move(E.OPEN, actor=actor, action="reopened", at=at, note=note)

    def resolve(self, *, actor: str, at: datetime, note: str) -> ExceptionItem:
        """Close the item as fixed."""
        return self._move(E.RESOLVED, actor=actor, action="resolved", at=at, note=note)

    def dismiss(self, *, actor: str, at: datetime, reason: str) -> ExceptionItem:
        """Close the item without a fix; ``reason`` is required."""
        if not reason.strip():
            raise IllegalTransitionError(
                "a dismissal needs a reason", code="exception.reason_required"
            )
        return self._move(E.DISMISSED, actor=actor, action="dismissed", at=at, note=reason)

    @property
    def is_closed(self) -> bool:
        """True once resolved or dismissed."""
        return self.status in {E.RESOLVED, E.DISMISSED}
