"""Engine-neutral views of workflow runs and their steps, for callers outside ``workflows/``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from dbos import StepInfo, WorkflowStatus

REPLAY_MARK = "#replay-"
"""Separates a run's lineage id from its replay number: ``<lineage id>#replay-<n>``.

Business workflow ids never contain ``#`` (``engine.workflow_id`` escapes it), so the first
mark in an id is always a replay's.
"""


def lineage_id(workflow_id: str) -> str:
    """Return the id of the original run that ``workflow_id`` is (a replay of)."""
    return workflow_id.split(REPLAY_MARK, 1)[0]


def replay_number(workflow_id: str) -> int:
    """Return 0 for an original run, ``n`` for its n-th replay (``<lineage>#replay-<n>``)."""
    _, mark, number = workflow_id.partition(REPLAY_MARK)
    return int(number) if mark and number.isdigit() else 0


def replay_id(workflow_id: str, number: int) -> str:
    """Return the id of replay ``number`` of the lineage ``workflow_id`` belongs to."""
    return f"{lineage_id(workflow_id)}{REPLAY_MARK}{number}"


class RunStatus(StrEnum):
    """Where a workflow run stands (the engine's own status names)."""

    ENQUEUED = "ENQUEUED"
    DELAYED = "DELAYED"
    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    MAX_RECOVERY_ATTEMPTS_EXCEEDED = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"

    @property
    def is_terminal(self) -> bool:
        """True once the run will not move again without an operator (fork, rewind, resume)."""
        return self in {
            RunStatus.SUCCESS,
            RunStatus.ERROR,
            RunStatus.CANCELLED,
            RunStatus.MAX_RECOVERY_ATTEMPTS_EXCEEDED,
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One workflow run as an operator sees it.

    Attributes:
        workflow_id: ``<workflow name>:<business key>``, or the engine's id for a fork.
        name: The registered workflow name.
        status: Where the run stands.
        executor_id: The worker that last ran (or is running) it; None while queued.
        queue: The queue it was enqueued on, if any.
        forked_from: The run this one was forked from, if any.
        created_at_ms: Unix epoch milliseconds of the first start.
        error: The error's text when the run failed.
    """

    workflow_id: str
    name: str
    status: RunStatus
    executor_id: str | None
    queue: str | None
    forked_from: str | None
    created_at_ms: int | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StepSummary:
    """One recorded step of a run; ``number`` is what fork and rewind take as ``step``."""

    number: int
    name: str
    output: Any
    error: str | None


class _Handle(Protocol):
    def get_workflow_id(self) -> str: ...

    def get_result(self) -> Any: ...

    def get_status(self) -> WorkflowStatus: ...


class Run:
    """A handle on one workflow run: its id, its status and (waiting) its result."""

    def __init__(self, handle: _Handle) -> None:
        self._handle = handle

    @property
    def workflow_id(self) -> str:
        """The run's workflow id."""
        return self._handle.get_workflow_id()

    def result(self) -> Any:
        """Wait for the run to finish and return its output.

        Raises:
            Exception: the workflow's own error when it failed (a ContractSyncError, or the
                engine's DBOSMaxStepRetriesExceeded when a step ran out of retries).
        """
        return self._handle.get_result()

    def status(self) -> RunStatus:
        """Return the run's current status (read from the engine's database)."""
        return RunStatus(self._handle.get_status().status)

    def __repr__(self) -> str:
        return f"Run({self.workflow_id!r})"


def summarize(status: WorkflowStatus) -> RunSummary:
    """Convert the engine's status record into a RunSummary."""
    return RunSummary(
        workflow_id=status.workflow_id,
        name=status.name,
        status=RunStatus(status.status),
        executor_id=status.executor_id,
        queue=status.queue_name,
        forked_from=status.forked_from,
        created_at_ms=status.created_at,
        error=None if status.error is None else str(status.error),
    )


def summarize_step(step: StepInfo) -> StepSummary:
    """Convert the engine's step record into a StepSummary."""
    error = step["error"]
    return StepSummary(
        number=step["function_id"],
        name=step["function_name"],
        output=step["output"],
        error=None if error is None else str(error),
    )
