"""Closing a contract's Tryton project: one work status of the hub's, set once."""

from __future__ import annotations

from typing import Any

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.payloads import WORK_FIELDS, WorkRow
from contractsync.adapters.tryton.resilience import SafeCalls
from contractsync.errors import ConfigError, RejectedError

_STATUS = "project.work.status"
_WORK = "project.work"


class ProjectClosing:
    """Puts a project in the closing work status, and tells whether one is closed.

    Tryton 8.2 ships two work statuses: Open (the default) and Done, which requires the
    project and every task at 100 % progress. Under the ``effort`` invoice method a task at
    100 % is billable, so marking a terminated contract's undelivered milestones done would
    invoice them: the project goes to a status of its own instead, with no progress
    requirement (``TrytonSettings.closed_status``, made once if the database lacks it).
    Tasks, prices and invoices are left as they are. A project in Done counts as closed too.

    Args:
        client: The Tryton client.
        calls: Retry and ambiguity handling for every call.
        status_name: The name of the closing work status.
    """

    def __init__(self, client: TrytonClient, calls: SafeCalls, status_name: str) -> None:
        self.client = client
        self.calls = calls
        self.status_name = status_name
        self._status: int | None = None

    def _find(self) -> int | None:
        if self._status is None:
            domain: list[Any] = [("name", "=", self.status_name), ("types", "in", "project")]
            found = self.calls.read(lambda: self.client.search(_STATUS, domain, limit=1))
            self._status = found[0] if found else None
        return self._status

    def status(self) -> int:
        """The closing status's id, created (for projects, no progress needed) if missing.

        Raises:
            ConfigError: ``tryton.closed_status_missing`` when the hub's user may not create
                work statuses.
        """
        found = self._find()
        if found is not None:
            return found
        values = {"name": self.status_name, "types": ["project"], "progress": None}
        try:
            self._status = self.calls.write(
                lambda: self.client.create(_STATUS, [values])[0], self._find
            )
        except RejectedError as error:
            raise ConfigError(
                f"Tryton has no work status {self.status_name!r} and the hub may not create it.",
                code="tryton.closed_status_missing",
                remediation=f"Create the work status {self.status_name!r} for projects (Project "
                "> Configuration > Work Status), or give the hub's user Project Administration.",
                detail=error.detail,
            ) from error
        return self._status

    def is_closed(self, project: WorkRow) -> bool:
        """True when ``project`` is in the closing status or done (never creates the status)."""
        if project.status_progress == 1.0:
            return True
        return project.status_id is not None and project.status_id == self._find()

    def close(self, project: WorkRow) -> None:
        """Put ``project`` in the closing status; nothing is written when it is closed already.

        Raises:
            ConfigError: as ``status``.
        """
        if self.is_closed(project):
            return
        status = self.status()

        def write() -> int:
            self.client.write(_WORK, [project.id], {"status": status})
            return project.id

        def lookup() -> int | None:
            fresh = WorkRow.from_read(self.client.read(_WORK, [project.id], WORK_FIELDS)[0])
            return project.id if fresh.status_id == status else None

        self.calls.write(write, lookup)


__all__ = ["ProjectClosing"]
