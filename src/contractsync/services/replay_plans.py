"""Replay planning (the dry run): what running an item again would do now, and why.

Pure over the ports: it reads the inbox, the exception queue and the engine's runs
(``ports.workflows.WorkflowRuns``) and writes nothing. ``services.replay`` acts on a plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from contractsync.domain.exception_item import ExceptionItem
from contractsync.errors import DomainError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import InboxMessage, InboxStatus, UnitOfWork
from contractsync.ports.workflows import RunAttempt, RunState, WorkflowDispatcher, WorkflowRuns
from contractsync.services import exception_queue as queue

TargetKind = Literal["message", "workflow", "exception"]


class ReplayAction(StrEnum):
    """What a replay of the item would do now."""

    REPLAY = "replay failed run"
    START = "start"
    ALREADY_SUCCEEDED = "already succeeded"
    ALREADY_RUNNING = "already running"


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    """What the operator asked to replay: an inbox message, a workflow run or an ExceptionItem."""

    kind: TargetKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """The dry-run answer for one target.

    Attributes:
        target: What was asked for.
        action: What a replay would do now.
        reason: Why, in words.
        workflow_id: The run looked at (the latest attempt), if any.
        from_step: The step a REPLAY re-runs from.
        message: The inbox message, for message targets (and exception items naming one).
        attempt: The latest run, if any.
        item: The ExceptionItem, for exception targets.
    """

    target: ReplayTarget
    action: ReplayAction
    reason: str
    workflow_id: str | None = None
    from_step: int | None = None
    message: InboxMessage | None = None
    attempt: RunAttempt | None = None
    item: ExceptionItem | None = None

    @property
    def will_run(self) -> bool:
        """True when executing the plan starts a run."""
        return self.action in (ReplayAction.REPLAY, ReplayAction.START)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what ``--json`` prints)."""
        return {
            "target": str(self.target),
            "action": self.action.value,
            "reason": self.reason,
            "workflow_id": self.workflow_id,
            "from_step": self.from_step,
            "message_id": None if self.message is None else self.message.id,
            "exception_id": None if self.item is None else self.item.id,
        }


@dataclass(frozen=True)
class ReplayTools:
    """The ports a replay works through (built by ``bootstrap.build_replay_tools``).

    Attributes:
        uow_factory: A fresh unit of work per transaction.
        runs: The engine's runs.
        dispatcher: Starts a message that never ran.
        clock: Audit and item times.
        close: Releases what the tools hold.
    """

    uow_factory: Callable[[], UnitOfWork]
    runs: WorkflowRuns
    dispatcher: WorkflowDispatcher
    clock: Clock
    close: Callable[[], None] = lambda: None


def plan(tools: ReplayTools, target: ReplayTarget) -> ReplayPlan:
    """The dry run for one target: what ``replay`` would do now, and why.

    Raises:
        DomainError: ``replay.not_found`` (no such message, run or item),
            ``exception.nothing_to_retry`` or ``replay.item_closed`` for an item.
    """
    if target.kind == "message":
        with tools.uow_factory() as uow:
            message = uow.inbox.get(target.id)
        if message is None:
            raise not_found(target)
        return _plan_message(tools, target, message)
    if target.kind == "workflow":
        attempt = tools.runs.latest(target.id)
        if attempt is None:
            raise not_found(target)
        return _plan_run(target, attempt)
    return _plan_item(tools, target)


def plan_selection(
    tools: ReplayTools,
    *,
    source: str | None = None,
    statuses: tuple[InboxStatus, ...] = (InboxStatus.FAILED,),
    received_from: datetime | None = None,
    received_until: datetime | None = None,
    limit: int = 1000,
) -> list[ReplayPlan]:
    """The dry run for a bulk replay: one plan per matching inbox message, oldest first."""
    with tools.uow_factory() as uow:
        messages = uow.inbox.matching(
            source=source,
            statuses=statuses,
            received_from=received_from,
            received_until=received_until,
            limit=limit,
        )
    return [_plan_message(tools, ReplayTarget("message", m.id), m) for m in messages]


def _plan_message(tools: ReplayTools, target: ReplayTarget, message: InboxMessage) -> ReplayPlan:
    item_id = (message.error or {}).get("exception_id")
    facts: dict[str, Any] = {"message": message}
    if isinstance(item_id, str):
        with tools.uow_factory() as uow:
            facts["item"] = uow.exceptions.get(item_id)
    if message.status is InboxStatus.PROCESSED:
        return ReplayPlan(
            target,
            ReplayAction.ALREADY_SUCCEEDED,
            "the message was processed",
            message.workflow_id,
            **facts,
        )
    attempt = None if message.workflow_id is None else tools.runs.latest(message.workflow_id)
    if attempt is None:
        why = (
            "stored but never run"
            if message.status is not InboxStatus.FAILED
            else ("failed before any run (quarantined at ingress)")
        )
        return ReplayPlan(target, ReplayAction.START, why, message.workflow_id, **facts)
    return _plan_run(target, attempt, **facts)


def _plan_run(target: ReplayTarget, attempt: RunAttempt, **facts: Any) -> ReplayPlan:
    which = "its original run" if attempt.number == 0 else f"its replay {attempt.number}"
    if attempt.state is RunState.SUCCEEDED:
        action, why = ReplayAction.ALREADY_SUCCEEDED, f"{which} succeeded"
    elif attempt.state is RunState.RUNNING:
        action, why = ReplayAction.ALREADY_RUNNING, f"{which} is queued or running"
    else:
        action = ReplayAction.REPLAY
        why = f"{which} failed at step {attempt.failed_step}: {attempt.error or 'no error text'}"
    step = attempt.failed_step if action is ReplayAction.REPLAY else None
    return ReplayPlan(target, action, why, attempt.workflow_id, step, attempt=attempt, **facts)


def _plan_item(tools: ReplayTools, target: ReplayTarget) -> ReplayPlan:
    with tools.uow_factory() as uow:
        item = uow.exceptions.get(target.id)
        if item is None:
            raise not_found(target)
        message_id = item.evidence.get(queue.EVIDENCE_INBOX_MESSAGE)
        message = uow.inbox.get(message_id) if isinstance(message_id, str) else None
    if item.is_closed:
        raise DomainError(
            f"exception item {item.id} is {item.status.value}; it is not replayed",
            code="replay.item_closed",
            remediation="Replay the message or workflow itself if it must run again.",
            detail={"id": item.id},
        )
    # The message knows more than its run (PROCESSED, never started): prefer it.
    if message is not None:
        return replace(_plan_message(tools, target, message), item=item)
    workflow_id = item.evidence.get(queue.EVIDENCE_WORKFLOW)
    if not isinstance(workflow_id, str) or not workflow_id:
        raise DomainError(
            f"exception item {item.id} names no workflow or inbound message to run again",
            code="exception.nothing_to_retry",
            remediation="Resolve it with corrected data, or dismiss it with a reason.",
            detail={"id": item.id},
        )
    attempt = tools.runs.latest(workflow_id)
    if attempt is None:
        raise not_found(ReplayTarget("workflow", workflow_id))
    return _plan_run(target, attempt, item=item)


def not_found(target: ReplayTarget) -> DomainError:
    """The error for a target that does not exist (``replay.not_found``)."""
    return DomainError(
        f"there is no {target.kind} {target.id} to replay",
        code="replay.not_found",
        remediation="Check the id: `contractsync exceptions list`, or the inbox message and "
        "workflow ids in an item's evidence.",
        detail={"target": str(target)},
    )


__all__ = [
    "ReplayAction",
    "ReplayPlan",
    "ReplayTarget",
    "ReplayTools",
    "TargetKind",
    "not_found",
    "plan",
    "plan_selection",
]
