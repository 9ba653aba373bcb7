"""Talk to the workflow engine from a process that runs no workflows (API tier, CLI, tests)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from dbos import DBOSClient, EnqueueOptions, SetWorkflowID
from sqlalchemy.exc import IntegrityError

from contractsync.config import Settings
from contractsync.errors import ConflictError
from contractsync.workflows.engine import APPLICATION_NAME, APPLICATION_VERSION, workflow_id
from contractsync.workflows.runs import (
    RunStatus,
    RunSummary,
    StepSummary,
    summarize,
    summarize_step,
)
from contractsync.workflows.system_database import (
    SYSTEM_SCHEMA,
    is_sqlite,
    sqlite_engine,
    system_database_url,
)


class EngineClient:
    """Enqueue runs, read their status and send decisions, through the engine's database.

    The client never runs migrations: a worker must have started once on the database.
    Use as a context manager, or call ``close``.
    """

    def __init__(self, settings: Settings) -> None:
        url = system_database_url(settings)
        self._engine = sqlite_engine(url) if is_sqlite(url) else None
        self._client = DBOSClient(
            system_database_url=None if self._engine else url,
            system_database_engine=self._engine,
            dbos_system_schema=SYSTEM_SCHEMA,
            application_name=APPLICATION_NAME,
        )

    def enqueue(self, queue: str, workflow_name: str, key: str, *args: Any) -> str:
        """Enqueue workflow ``workflow_name`` for business ``key`` on ``queue``; return its id.

        A duplicate enqueue of the same key returns the same id and enqueues nothing.
        """
        options: EnqueueOptions = {
            "workflow_name": workflow_name,
            "queue_name": queue,
            "workflow_id": workflow_id(workflow_name, key),
            "app_version": APPLICATION_VERSION,
        }
        return self._client.enqueue(options, *args).get_workflow_id()

    def status(self, workflow_id: str) -> RunStatus | None:
        """Return the status of a run, or None when there is no such run."""
        found = self._client.list_workflows(
            workflow_ids=[workflow_id], load_input=False, load_output=False
        )
        return RunStatus(found[0].status) if found else None

    def arguments(self, workflow_id: str) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        """The positional and keyword arguments a run was started with; None: no such run."""
        found = self._client.list_workflows(
            workflow_ids=[workflow_id], load_input=True, load_output=False
        )
        if not found or found[0].input is None:
            return None
        inputs = found[0].input
        return tuple(inputs["args"]), dict(inputs["kwargs"])

    def result(self, workflow_id: str) -> Any:
        """Wait for a run to finish and return its output (or raise its error)."""
        return self._client.retrieve_workflow(workflow_id).get_result(polling_interval_sec=0.1)

    def list_workflows(
        self,
        *,
        status: RunStatus | str | None = None,
        prefix: str | None = None,
        workflow_ids: list[str] | None = None,
    ) -> list[RunSummary]:
        """List runs, oldest first, optionally by status, id prefix or ids."""
        found = self._client.list_workflows(
            status=None if status is None else str(status),
            workflow_id_prefix=prefix,
            workflow_ids=workflow_ids,
            load_input=False,
            load_output=False,
        )
        return [summarize(item) for item in found]

    def steps(self, workflow_id: str) -> list[StepSummary]:
        """Return the recorded steps of a run, in order."""
        return [summarize_step(item) for item in self._client.list_workflow_steps(workflow_id)]

    def wait_until_finished(
        self, workflow_ids: list[str], *, timeout_seconds: float, poll_seconds: float = 0.2
    ) -> list[RunSummary]:
        """Wait until every run is terminal; return their summaries.

        Raises:
            TimeoutError: naming how many runs are still unfinished at the deadline.
        """
        deadline = time.monotonic() + timeout_seconds
        while True:
            runs = self.list_workflows(workflow_ids=workflow_ids)
            unfinished = [run for run in runs if not run.status.is_terminal]
            if len(runs) == len(workflow_ids) and not unfinished:
                return runs
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(unfinished)} of {len(workflow_ids)} runs unfinished after "
                    f"{timeout_seconds}s: {[(r.workflow_id, r.status.value) for r in unfinished[:5]]}"
                )
            time.sleep(poll_seconds)

    def fork(self, workflow_id: str, step: int, *, new_id: str, queue: str | None) -> str:
        """Re-run ``workflow_id`` from step number ``step`` as the run ``new_id``; return it.

        Steps before ``step`` are copied, not executed; the run is enqueued on ``queue`` (the
        engine's internal queue when None) for this release's workers. The new id is
        inserted once: of two forks under one id exactly one succeeds.

        Raises:
            ConflictError: ``replay.already_running`` when a run ``new_id`` exists already.
        """
        try:
            with SetWorkflowID(new_id):
                handle = self._client.fork_workflow(
                    workflow_id,
                    step,
                    application_version=APPLICATION_VERSION,
                    queue_name=queue,
                )
        except IntegrityError as error:
            raise ConflictError(
                f"{new_id} was started by someone else a moment ago",
                code="replay.already_running",
                remediation="Wait for that replay to finish, then look at its outcome.",
                detail={"workflow_id": workflow_id, "replay_id": new_id},
            ) from error
        return handle.get_workflow_id()

    def send_decision(
        self, workflow_id: str, topic: str, payload: Any, *, idempotency_key: str | None = None
    ) -> None:
        """Deliver a human's decision to the run waiting on ``topic`` (see ``Engine``)."""
        self._client.send(workflow_id, payload, topic, idempotency_key=idempotency_key)

    def close(self) -> None:
        """Release the database connections."""
        self._client.destroy()
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
