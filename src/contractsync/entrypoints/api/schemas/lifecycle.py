"""DTOs of the operator's contract lifecycle requests: renew and terminate."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from contractsync.entrypoints.api.schemas.common import Dto, MaskedResponse


class RenewRequest(Dto):
    """Renew a contract: its next version ends later."""

    new_end: dt.date = Field(description="The renewed term's last day; after the current end.")


class TerminateRequest(Dto):
    """Terminate a contract: it ends where it stands and its project is closed."""

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="Audited.")


class LifecycleRunResponse(MaskedResponse):
    """The durable run doing the renewal or termination (202: it runs on a worker)."""

    kind: Literal["renewal", "termination"]
    contract_id: str
    workflow_id: str = Field(
        description="The run's id: amendment_rollout:<contract>:v<version> for a renewal, "
        "contract_termination:<contract> for a termination; a second request for the same "
        "version or contract answers the same run."
    )
    version: int = Field(ge=1, description="The version renewed to, or the one terminated.")
    new_end: dt.date | None = Field(default=None, description="Renewal: the new term end.")
    reason: str | None = Field(default=None, description="Termination: why.")


__all__ = ["LifecycleRunResponse", "RenewRequest", "TerminateRequest"]
