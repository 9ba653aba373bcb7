"""DTOs of business events, exception items and contract lineage."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from contractsync.entrypoints.api.masking import free_form, priced
from contractsync.entrypoints.api.schemas.common import Dto, MaskedResponse, MoneyView, RefView


class EventView(Dto):
    """A business event from the outbox (CloudEvents ``type`` and attributes)."""

    seq: int = Field(description="Outbox position; newer events have larger numbers.")
    id: str
    type: str
    subject: str
    correlation_id: str = Field(description="The contract lineage id.")
    occurred_at: AwareDatetime
    published_at: AwareDatetime | None = None
    data: dict[str, Any] | None = free_form("The event data.")


class ExceptionActionView(Dto):
    """One step in an item's history."""

    at: AwareDatetime
    actor: str
    action: str
    status: str
    note: str = ""


class ExceptionView(Dto):
    """Work the hub could not finish on its own, with its owner and evidence."""

    id: str
    code: str
    message: str
    owner: str
    severity: str
    money_at_risk: MoneyView | None = priced("What is at stake.")
    sla_due: AwareDatetime
    status: str
    contract_id: str | None = None
    subject: RefView | None = None
    assignee: str | None = None
    remediation: str
    evidence: dict[str, Any] | None = free_form("What proves the problem.")
    created_at: AwareDatetime
    history: list[ExceptionActionView] = Field(default_factory=list)


class ExceptionResponse(ExceptionView, MaskedResponse):
    """One exception item; its ETag is the If-Match value for its actions."""


class RerunView(Dto):
    """What a retry started."""

    kind: Literal["workflow", "inbox_message"]
    id: str


class RetryResponse(ExceptionView, MaskedResponse):
    """The item after its replay, and the run the replay started (if any)."""

    outcome: Literal["replayed", "started", "already succeeded"] = Field(
        description="replayed (a failed run forked from its failed step), started (a message "
        "that never ran), already succeeded (nothing was run)."
    )
    reason: str = Field(description="Why the replay did what it did.")
    rerun: RerunView | None = Field(
        default=None, description="The run started; null when nothing was run."
    )


class AssignRequest(Dto):
    """Give an item to someone."""

    assignee: str = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")


class ResolveRequest(Dto):
    """Close an item as fixed."""

    note: str = Field(min_length=1, max_length=2000)
    corrected_data: dict[str, Any] | None = Field(
        default=None, description="Corrected data for the flow waiting on the item."
    )


class DismissRequest(Dto):
    """Close an item without a fix."""

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


class LineageRef(Dto):
    """One system's ref for the contract, its customer or one of its projects."""

    record_kind: str
    record_id: str
    system: str
    kind: str
    id: str
    linked_at: AwareDatetime


class LineageEntry(Dto):
    """One thing that happened to the contract, in time order."""

    at: AwareDatetime
    kind: Literal["inbox_message", "version", "ref_linked", "event", "exception"]
    id: str = Field(description="Message, event or item id; record id@version for versions.")
    summary: str = Field(description="What happened, without prices.")
    source: str | None = Field(default=None, description="The system it came from or went to.")


class LineageResponse(MaskedResponse):
    """Every system's refs for a contract and what touched it, oldest first (paged)."""

    contract_id: str
    correlation_id: str = Field(description="The lineage id events carry: the contract id.")
    customer_id: str
    project_ids: list[str]
    refs: list[LineageRef]
    items: list[LineageEntry]
    next_cursor: str | None = None


class ReplayRequest(Dto):
    """What to replay: an inbox message, a workflow run or an ExceptionItem."""

    kind: Literal["message", "workflow", "exception"]
    id: str = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")
    dry_run: bool = Field(
        default=False, description="Only say what a replay would do now; run nothing."
    )


class ReplayResponse(MaskedResponse):
    """What a replay would do (dry run) or did."""

    target: str = Field(description="<kind>:<id>")
    action: str = Field(description="replay failed run, start, already succeeded or running.")
    reason: str
    workflow_id: str | None = None
    from_step: int | None = None
    message_id: str | None = None
    exception_id: str | None = None
    dry_run: bool
    outcome: str | None = Field(
        default=None, description="replayed, started or already succeeded; null on a dry run."
    )
    new_workflow_id: str | None = None


__all__ = [
    "AssignRequest",
    "DismissRequest",
    "EventView",
    "ExceptionActionView",
    "ExceptionResponse",
    "ExceptionView",
    "LineageEntry",
    "LineageRef",
    "LineageResponse",
    "ReplayRequest",
    "ReplayResponse",
    "RerunView",
    "ResolveRequest",
    "RetryResponse",
]
