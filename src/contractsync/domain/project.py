"""The hub's view of the ERP and PSA projects that deliver one contract."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contractsync.domain.base import Document
from contractsync.domain.codes import Identifier
from contractsync.domain.identity import ExternalRef
from contractsync.errors import IllegalTransitionError


class ProjectStatus(StrEnum):
    """A project is staged when the deal is won and activated only once the contract is approved."""

    STAGED = "staged"
    ACTIVE = "active"
    CLOSED = "closed"


_PROJECT_MOVES: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    ProjectStatus.STAGED: frozenset({ProjectStatus.ACTIVE, ProjectStatus.CLOSED}),
    ProjectStatus.ACTIVE: frozenset({ProjectStatus.CLOSED}),
    ProjectStatus.CLOSED: frozenset({ProjectStatus.ACTIVE}),  # re-opened by a renewal
}


class Project(Document):
    """A delivery project for one contract, as known in the ERP and the PSA."""

    schema_name: ClassVar[str] = "project"

    id: Identifier
    contract_id: Identifier
    customer_id: Identifier
    name: str = Field(min_length=1, max_length=255)
    status: ProjectStatus = ProjectStatus.STAGED
    refs: tuple[ExternalRef, ...] = ()

    def activate(self, *, contract_approved: bool) -> Project:
        """Return the project activated.

        Raises:
            IllegalTransitionError: if the contract is not approved yet, or the project
                cannot move to active from its current status.
        """
        if not contract_approved:
            raise IllegalTransitionError(
                f"project {self.id} cannot be activated before contract {self.contract_id} is approved",
                code="project.activation_before_approval",
                remediation="Wait for the contract approval (CLM or e-signature) to arrive.",
            )
        return self.move_to(ProjectStatus.ACTIVE)

    def move_to(self, status: ProjectStatus) -> Project:
        """Return the project in ``status``; raises IllegalTransitionError if not allowed."""
        if status not in _PROJECT_MOVES[self.status]:
            raise IllegalTransitionError(
                f"project {self.id} cannot go from {self.status} to {status}"
            )
        return self.model_copy(update={"status": status})
