"""The engine side of replay: a run's lineage, its latest attempt, and a fork that keeps its keys.

A failed run is replayed by forking it (DBOS ``fork_workflow``, reference/engine.md §1.3)
from its first failed step under the id ``<lineage>#replay-<n>``, not by rewinding it in
place: the failed attempt stays as it was for the audit trail, and the deterministic id
makes the fork its own claim (two forks under one id: the second insert fails). Because
``steps.idempotency_key`` derives keys from the lineage id, the fork's steps send the same
keys as the failed attempt's, so an effect that attempt applied is not applied twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from contractsync.errors import ConfigError
from contractsync.ports.workflows import RunAttempt, RunState
from contractsync.workflows.client import EngineClient
from contractsync.workflows.runs import (
    REPLAY_MARK,
    RunStatus,
    RunSummary,
    lineage_id,
    replay_id,
    replay_number,
)

_STATE = {
    RunStatus.ENQUEUED: RunState.RUNNING,
    RunStatus.DELAYED: RunState.RUNNING,
    RunStatus.PENDING: RunState.RUNNING,
    RunStatus.SUCCESS: RunState.SUCCEEDED,
    RunStatus.ERROR: RunState.FAILED,
    RunStatus.CANCELLED: RunState.FAILED,
    RunStatus.MAX_RECOVERY_ATTEMPTS_EXCEEDED: RunState.FAILED,
}
# DBOS's own queue for runs started without one; a fork names no queue to land there again.
_INTERNAL_QUEUE_PREFIX = "_dbos"
T = TypeVar("T")


def _reading(read: Callable[[], T]) -> T:
    """Run one read of the engine's database; its failure becomes a ConfigError to act on."""
    try:
        return read()
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__
        raise ConfigError(
            f"the workflow engine's database cannot be read: {reason}",
            code="engine.database_unavailable",
            remediation="Start `contractsync serve` or `contractsync worker` once (it creates "
            "the engine's tables) and check database.url and engine.system_database_url.",
        ) from error


class EngineRuns:
    """``ports.workflows.WorkflowRuns`` over the engine's database (no engine needed here).

    Args:
        client: The engine client (the caller closes it).
    """

    def __init__(self, client: EngineClient) -> None:
        self._client = client

    def latest(self, workflow_id: str) -> RunAttempt | None:
        """The newest run of ``workflow_id``'s lineage (itself or its last replay), or None."""
        lineage = lineage_id(workflow_id)
        runs = [
            run
            for run in _reading(lambda: self._client.list_workflows(prefix=lineage))
            if run.workflow_id == lineage or run.workflow_id.startswith(lineage + REPLAY_MARK)
        ]
        if not runs:
            return None
        newest = max(runs, key=lambda run: replay_number(run.workflow_id))
        state = _STATE[newest.status]
        if state is not RunState.FAILED:
            return RunAttempt(newest.workflow_id, lineage, replay_number(newest.workflow_id), state)
        step, error = self._failed_step(newest)
        return RunAttempt(
            newest.workflow_id,
            lineage,
            replay_number(newest.workflow_id),
            state,
            failed_step=step,
            error=error,
        )

    def replay(self, attempt: RunAttempt) -> str:
        """Fork the failed ``attempt`` from its failed step as replay ``number + 1``.

        The fork goes on the attempt's own queue, so the external system's limits hold.

        Raises:
            ConflictError: ``replay.already_running``: that replay exists already.
        """
        found = _reading(lambda: self._client.list_workflows(workflow_ids=[attempt.workflow_id]))
        queue = found[0].queue if found else None
        if queue is not None and queue.startswith(_INTERNAL_QUEUE_PREFIX):
            queue = None
        return self._client.fork(
            attempt.workflow_id,
            attempt.failed_step or 1,
            new_id=replay_id(attempt.lineage_id, attempt.number + 1),
            queue=queue,
        )

    def _failed_step(self, run: RunSummary) -> tuple[int, str | None]:
        """The first step that recorded an error (1 when none did), and the error's text."""
        for recorded in _reading(lambda: self._client.steps(run.workflow_id)):
            if recorded.error is not None:
                return recorded.number, run.error or recorded.error
        return 1, run.error


__all__ = ["EngineRuns"]
