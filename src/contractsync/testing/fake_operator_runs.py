"""The ``DecisionSender`` and ``LifecycleRuns`` ports in memory, with the engine's semantics."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from contractsync.errors import ConflictError, ContractSyncError
from contractsync.ports.systems import SourcedContract


@dataclass(frozen=True, slots=True)
class SentDecision:
    """One decision as a run received it."""

    workflow_id: str
    topic: str
    payload: dict[str, Any]
    idempotency_key: str


class RecordingOperatorRuns:
    """Decisions and lifecycle starts recorded in memory.

    Like the engine: a decision sent twice under one idempotency key to one run is delivered
    once (``delivered``), though ``sends`` counts every call; a lifecycle run is started once
    per id (``amendment_rollout:<contract>:v<n>``, ``contract_termination:<contract>``) and a
    second start returns the same id (``starts`` counts calls, ``started`` runs), unless it
    is a renewal to another end (``renewal.version_taken``). Set
    ``failure`` to make every call raise it (an unreachable engine). Thread-safe.
    """

    def __init__(self) -> None:
        self.sends = 0
        self.delivered: list[SentDecision] = []
        self.starts: list[str] = []
        self.started: dict[str, tuple[Any, ...]] = {}
        self.failure: ContractSyncError | None = None
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def send_decision(
        self, workflow_id: str, topic: str, payload: dict[str, Any], *, idempotency_key: str
    ) -> None:
        """Deliver once per (run, key)."""
        with self._lock:
            self.sends += 1
            if self.failure is not None:
                raise self.failure
            if (workflow_id, idempotency_key) in self._keys:
                return
            self._keys.add((workflow_id, idempotency_key))
            self.delivered.append(SentDecision(workflow_id, topic, payload, idempotency_key))

    def start_renewal(self, renewed: SourcedContract) -> str:
        """Start (or find) ``amendment_rollout:<contract>:v<version>``.

        Raises:
            ConflictError: ``renewal.version_taken`` when that run exists for another contract
                version (another end date).
        """
        contract = renewed.contract
        run = f"amendment_rollout:{contract.id}:v{contract.version}"
        with self._lock:
            taken = self.started.get(run)
        if taken is not None and taken[0].contract != contract:
            raise ConflictError(f"{run} runs another version", code="renewal.version_taken")
        return self._start(run, (renewed,))

    def start_termination(self, contract_id: str, *, reason: str) -> str:
        """Start (or find) ``contract_termination:<contract>``."""
        return self._start(f"contract_termination:{contract_id}", (contract_id, reason))

    def _start(self, workflow_id: str, args: tuple[Any, ...]) -> str:
        with self._lock:
            self.starts.append(workflow_id)
            if self.failure is not None:
                raise self.failure
            self.started.setdefault(workflow_id, args)
        return workflow_id


__all__ = ["RecordingOperatorRuns", "SentDecision"]
