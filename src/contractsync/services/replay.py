"""Replay: decide what to run again for a message, run or ExceptionItem, show it, then do it once.

``plan`` and ``plan_selection`` are the dry run: they read and write nothing else. ``replay``
plans again at the moment it acts (a plan shown minutes earlier may be stale), then:

============================  ==============================================================
the item's latest run          what ``replay`` does
============================  ==============================================================
succeeded (or message          nothing; outcome ``already succeeded`` (no second effect)
PROCESSED)
still queued or running        ConflictError ``replay.already_running``
failed                         forks it from its failed step as ``<lineage>#replay-<n+1>``
                               (``WorkflowRuns.replay``); steps that applied their effect are
                               copied, the rest run under the lineage's idempotency keys
never ran (message only)       claims the message (a conditional status move) and dispatches
============================  ==============================================================

Two replays of one item racing: the fork id is inserted once, the message claim moves once;
the loser gets ConflictError ``replay.already_running``. Every replay that acts or is refused
is audited (actor, target, outcome); a replayed ExceptionItem is marked retried, and the run
resolves it when it succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from contractsync.domain.exception_item import ExceptionStatus
from contractsync.errors import ConflictError
from contractsync.ports.storage import InboxStatus
from contractsync.services import exception_queue as queue
from contractsync.services.replay_plans import (
    ReplayAction,
    ReplayPlan,
    ReplayTarget,
    ReplayTools,
    TargetKind,
    plan,
    plan_selection,
)

Outcome = Literal["replayed", "started", "already succeeded", "already running"]
"""What an executed replay did."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What one executed replay did.

    Attributes:
        plan: The plan it acted on (made at that moment).
        outcome: ``replayed`` (a failed run forked), ``started`` (a message dispatched),
            ``already succeeded`` (nothing done).
        new_workflow_id: The run started, if any.
    """

    plan: ReplayPlan
    outcome: Outcome
    new_workflow_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            **self.plan.as_dict(),
            "outcome": self.outcome,
            "new_workflow_id": self.new_workflow_id,
        }


def replay(tools: ReplayTools, target: ReplayTarget, *, actor: str) -> ReplayResult:
    """Replay one target now (see the module table); audited whatever the outcome.

    Raises:
        ConflictError: ``replay.already_running``: its run is queued or running, or another
            replay of it won the race a moment ago.
        DomainError: as ``plan``.
    """
    current = plan(tools, target)
    if current.action is ReplayAction.ALREADY_SUCCEEDED:
        return _record(tools, ReplayResult(current, "already succeeded"), actor)
    try:
        if current.action is ReplayAction.ALREADY_RUNNING:
            raise _running(current)
        if current.action is ReplayAction.REPLAY:
            assert current.attempt is not None  # a REPLAY plan always has its attempt
            result = ReplayResult(current, "replayed", tools.runs.replay(current.attempt))
        else:
            result = ReplayResult(current, "started", _start(tools, current))
    except ConflictError:
        _record(tools, ReplayResult(current, "already running"), actor)
        raise
    return _record(tools, result, actor)


def _start(tools: ReplayTools, current: ReplayPlan) -> str:
    message = current.message
    assert message is not None  # only message plans START
    with tools.uow_factory() as uow:
        claimed = uow.inbox.mark(message.id, InboxStatus.DISPATCHED, only_from={message.status})
        uow.commit()
    if not claimed:
        raise _running(current)
    try:
        workflow_id = tools.dispatcher.dispatch(message)
    except BaseException:
        with tools.uow_factory() as uow:  # hand the message back to the sweep or a later replay
            uow.inbox.mark(message.id, message.status, only_from={InboxStatus.DISPATCHED})
            uow.commit()
        raise
    with tools.uow_factory() as uow:  # so the next plan finds the run (unless it moved on)
        uow.inbox.mark(
            message.id,
            InboxStatus.DISPATCHED,
            only_from={InboxStatus.DISPATCHED},
            workflow_id=workflow_id,
        )
        uow.commit()
    return workflow_id


def _record(tools: ReplayTools, result: ReplayResult, actor: str) -> ReplayResult:
    current = result.plan
    with tools.uow_factory() as uow:
        item = current.item
        if result.new_workflow_id is not None and item is not None:
            fresh = uow.exceptions.get(item.id)
            if fresh is not None and fresh.status in (
                ExceptionStatus.OPEN,
                ExceptionStatus.ASSIGNED,
            ):
                queue.retry(uow, tools.clock, item.id, actor=actor)
        uow.audit.append(
            actor=actor,
            action="replay",
            subject=str(current.target),
            payload={**result.as_dict(), "at": tools.clock.now().isoformat()},
        )
        uow.commit()
    return result


def _running(current: ReplayPlan) -> ConflictError:
    return ConflictError(
        f"replay already running: {current.target} ({current.reason})",
        code="replay.already_running",
        remediation="Wait for the running attempt to finish, then look at its outcome.",
        detail={"target": str(current.target), "workflow_id": current.workflow_id},
    )


__all__ = [
    "Outcome",
    "ReplayAction",
    "ReplayPlan",
    "ReplayResult",
    "ReplayTarget",
    "ReplayTools",
    "TargetKind",
    "plan",
    "plan_selection",
    "replay",
]
