"""What an operator's API request or CLI command tells the engine: decisions and lifecycle starts.

``EngineOperatorRuns`` implements ``ports.workflows.DecisionSender`` and ``LifecycleRuns``
through the engine's database (``EngineClient``), so it works in every process that has the
settings: ``serve`` with or without workers, and the CLI. The client is connected at the
first use, so a process that never acts on a waiting run never connects.

Renewal and termination runs are enqueued on DBOS's internal queue, where the runs that
``workflows.lifecycle.start_renewal`` and ``start_termination`` start go when recovered:
every worker takes work from it and it has no concurrency limit, so a renewal waiting days
for finance does not hold a slot of an external system's queue (``engine.queues``). Their
ids are those of ``start_renewal`` and ``start_termination``, so one run per business key
whoever starts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from dbos import error as dbos_error
from dbos._utils import INTERNAL_QUEUE_NAME  # DBOS 3.4 exports no public name for it
from sqlalchemy.exc import DBAPIError

from contractsync.errors import ConflictError, DomainError, TransientError
from contractsync.ports.systems import SourcedContract
from contractsync.workflows.client import EngineClient
from contractsync.workflows.engine import workflow_id as run_id
from contractsync.workflows.flow_context import AMEND_CONTRACT, amendment_key
from contractsync.workflows.lifecycle import TERMINATE_CONTRACT

T = TypeVar("T")

ENGINE_QUEUE = INTERNAL_QUEUE_NAME
"""The queue operator-started lifecycle runs are enqueued on (see the module docstring)."""


class EngineOperatorRuns:
    """Decisions and lifecycle starts through the engine's database; see the module docstring.

    Args:
        connect: Builds the engine client, at the first use.
    """

    def __init__(self, connect: Callable[[], EngineClient]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._client: EngineClient | None = None

    def _held(self) -> EngineClient:
        with self._lock:
            if self._client is None:
                self._client = _reaching(self._connect)
            return self._client

    def send_decision(
        self, workflow_id: str, topic: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> None:
        """Deliver ``payload`` on ``topic`` to run ``workflow_id`` (once per key).

        Raises:
            DomainError: ``run.unknown`` when there is no such run.
            TransientError: ``engine.database_unavailable``.
        """
        client = self._held()
        try:
            _reaching(
                lambda: client.send_decision(
                    workflow_id, topic, payload, idempotency_key=idempotency_key
                )
            )
        except dbos_error.DBOSNonExistentWorkflowError as error:
            raise DomainError(
                f"there is no workflow run {workflow_id} to tell",
                code="run.unknown",
                remediation="Nothing waits on this item any more; no action is needed.",
                detail={"workflow_id": workflow_id, "topic": topic},
            ) from error

    def start_renewal(self, renewed: SourcedContract) -> str:
        """Enqueue (or find) ``amendment_rollout:<contract>:v<n>`` for the renewed version.

        Raises:
            ConflictError: ``renewal.version_taken`` when that run exists for another
                version n (another renewal end, or the CLM's amendment).
            TransientError: ``engine.database_unavailable``.
        """
        contract = renewed.contract
        key = amendment_key(contract.id, contract.version)
        client = self._held()
        existing = _reaching(lambda: client.arguments(run_id(AMEND_CONTRACT, key)))
        if existing is not None:
            args, _ = existing
            first = args[0] if args else None
            if not isinstance(first, SourcedContract) or first.contract != contract:
                raise _version_taken(run_id(AMEND_CONTRACT, key), contract.id, contract.version)
        return _reaching(lambda: client.enqueue(ENGINE_QUEUE, AMEND_CONTRACT, key, renewed, None))

    def start_termination(self, contract_id: str, *, reason: str) -> str:
        """Enqueue (or find) ``contract_termination:<contract>``."""
        client = self._held()
        return _reaching(
            lambda: client.enqueue(
                ENGINE_QUEUE, TERMINATE_CONTRACT, contract_id, contract_id, reason
            )
        )

    def close(self) -> None:
        """Release the engine client, if one was built; idempotent."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _version_taken(run: str, contract_id: str, version: int) -> ConflictError:
    return ConflictError(
        f"version {version} of contract {contract_id} is already the run {run}, for another "
        "change than this renewal",
        code="renewal.version_taken",
        remediation="Wait until that run has finished (`contractsync exceptions list --contract "
        f"{contract_id}` shows what it waits on); once its version is stored, renew again.",
        detail={"workflow_id": run, "contract_id": contract_id, "version": version},
    )


def _reaching(call: Callable[[], T]) -> T:
    """Run one call on the engine's database; its failure to answer becomes a TransientError."""
    try:
        return call()
    except DBAPIError as error:
        reason = str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__
        raise TransientError(
            f"the workflow engine's database cannot be reached: {reason}",
            code="engine.database_unavailable",
            remediation="Check database.url and engine.system_database_url, and that a "
            "`contractsync worker` or `serve` has started once on it; then retry.",
        ) from error


__all__ = ["ENGINE_QUEUE", "EngineOperatorRuns"]
