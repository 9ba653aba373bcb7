"""The ports through which accepted work reaches the durable engine, and failed work is replayed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from contractsync.ports.storage import InboxMessage
from contractsync.ports.systems import SourcedContract


class WorkflowDispatcher(Protocol):
    """Starts the durable workflow that processes one inbox message.

    The workflow id is derived from the message's business key (``inbox:<source>:<event_id>``),
    so dispatching the same message twice starts one workflow: the second call is a no-op
    that returns the same id. Implementations must be safe to call from any thread.
    """

    def dispatch(self, message: InboxMessage) -> str:
        """Start (or find) the workflow for ``message`` and return its workflow id."""
        ...


class RunState(StrEnum):
    """Where a run stands, as a replay sees it."""

    RUNNING = "running"
    """Queued, running, or waiting: it may still succeed by itself."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    """Ended in an error, was cancelled, or gave up recovering: a replay may re-run it."""


@dataclass(frozen=True, slots=True)
class RunAttempt:
    """The newest run of a lineage: the original run, or its latest replay.

    Attributes:
        workflow_id: This run's id (``<lineage>`` or ``<lineage>#replay-<n>``).
        lineage_id: The original run's id; idempotency keys are derived from it.
        number: 0 for the original, n for the n-th replay.
        state: Where the run stands.
        failed_step: The step a replay re-runs from (the first that recorded an error;
            1 when none did); None unless FAILED.
        error: The run's error text when FAILED.
    """

    workflow_id: str
    lineage_id: str
    number: int
    state: RunState
    failed_step: int | None = None
    error: str | None = None


class WorkflowRuns(Protocol):
    """Reads runs and replays failed ones, without a second external effect.

    A replay is a new run ``<lineage>#replay-<n+1>`` forked from the failed attempt's failed
    step: the steps before it are copied, not executed, and the steps from it on use the
    lineage's idempotency keys, so an effect the failed attempt did apply is not applied
    again. The new id is inserted once: two replays racing for one attempt make one run.
    """

    def latest(self, workflow_id: str) -> RunAttempt | None:
        """The newest run in the lineage of ``workflow_id``; None when it never ran."""
        ...

    def replay(self, attempt: RunAttempt) -> str:
        """Re-run the FAILED ``attempt`` from its failed step; return the new run's id.

        Raises:
            ConflictError: ``replay.already_running`` when replay ``number + 1`` exists.
        """
        ...


class DecisionSender(Protocol):
    """Delivers an owner's decision to a run waiting in ``wait_for_decision(topic)``.

    Works from any process that can reach the engine's database (API tier, CLI, worker).
    A message sent before the run waits is kept until it does. The same ``idempotency_key``
    sent twice to one run delivers once (a double click). Delivery only wakes the run
    early: a waiting run reads the state it waits for at its next poll anyway.
    """

    def send_decision(
        self, workflow_id: str, topic: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> None:
        """Send ``payload`` to run ``workflow_id`` on ``topic``.

        Raises:
            DomainError: ``run.unknown`` when there is no run ``workflow_id``.
            TransientError: the engine's database cannot be reached now.
        """
        ...


class LifecycleRuns(Protocol):
    """Starts the operator's renewal and termination runs, one run per business key.

    A renewal is the amendment flow's run of the renewed version
    (``amendment_rollout:<contract>:v<n>``), a termination is ``contract_termination:<contract>``:
    the ids ``workflows.lifecycle.start_renewal`` and ``start_termination`` use, so starting a
    run that exists returns its id and starts nothing. Runs are enqueued for whichever worker
    takes them, so the caller needs no engine of its own.
    """

    def start_renewal(self, renewed: SourcedContract) -> str:
        """Start (or find) the run applying ``renewed`` (the next version); return its id.

        Raises:
            ConflictError: ``renewal.version_taken`` when the run of that version exists for
                another change (a renewal to another end, or the CLM's amendment).
            TransientError: the engine's database cannot be reached now.
        """
        ...

    def start_termination(self, contract_id: str, *, reason: str) -> str:
        """Start (or find) the run terminating ``contract_id``; return its id.

        Raises:
            TransientError: the engine's database cannot be reached now.
        """
        ...


__all__ = [
    "DecisionSender",
    "LifecycleRuns",
    "RunAttempt",
    "RunState",
    "WorkflowDispatcher",
    "WorkflowRuns",
]
