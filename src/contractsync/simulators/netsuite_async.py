"""NetSuite asynchronous requests: ``Prefer: respond-async`` jobs and idempotency keys.

``reference/vendors.md`` §4.2: an async request answers 202 with ``Preference-Applied:
respond-async`` and ``Location: /services/rest/async/v1/job/{id}``. A second request with the
same ``X-NetSuite-Idempotency-Key`` answers 400 titled "Conflict" with ``IDEMPOTENCY_ERROR``
and the ``Location`` of the first job. How long a key is remembered is [U]: configurable.
The simulator runs each job at once, so a job is complete when it is first polled.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contractsync.simulators.netsuite_wire import ASYNC_ROOT, NetSuiteFault, link


@dataclass(slots=True)
class AsyncJob:
    """One asynchronous request and the response it produced."""

    id: str
    started: float
    ended: float
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def progress(self) -> str:
        """``succeeded`` for a 2xx result, else ``failed``."""
        return "succeeded" if 200 <= self.status < 300 else "failed"


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


class AsyncJobs:
    """Jobs by id and idempotency keys with their retention.

    Args:
        key_retention_seconds: How long a key is remembered ([U]; None: for the whole run).
        clock: Unix seconds.
    """

    def __init__(
        self, *, key_retention_seconds: float | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.key_retention_seconds = key_retention_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """No jobs, no keys."""
        with self._lock:
            self.jobs: dict[str, AsyncJob] = {}
            self.keys: dict[str, tuple[str, float]] = {}
            self._next = 1

    def job_path(self, job_id: str) -> str:
        """The job's path, as ``Location`` carries it."""
        return f"{ASYNC_ROOT}/job/{job_id}"

    def claim(self, key: str | None) -> str:
        """Reserve a job id, refusing a key already used within the retention window.

        Raises:
            NetSuiteFault: 400 "Conflict" ``IDEMPOTENCY_ERROR`` with the previous job's
                ``Location``.
        """
        now = self.clock()
        with self._lock:
            if key is not None and key in self.keys:
                previous, at = self.keys[key]
                retention = self.key_retention_seconds
                if retention is None or now - at < retention:
                    raise NetSuiteFault(
                        400,
                        "IDEMPOTENCY_ERROR",
                        'A request with the same idempotency key is already submitted. See the "Location" header for the job.',
                        title="Conflict",
                        headers={"Location": self.job_path(previous)},
                    )
            job_id = str(self._next)
            self._next += 1
            if key is not None:
                self.keys[key] = (job_id, now)
            return job_id

    def finish(self, job_id: str, status: int, headers: dict[str, str], body: Any) -> None:
        """Record the job's response."""
        now = self.clock()
        with self._lock:
            self.jobs[job_id] = AsyncJob(job_id, now, now, status, headers, body)

    def get(self, job_id: str) -> AsyncJob:
        """The job.

        Raises:
            NetSuiteFault: 404 for an unknown job.
        """
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise NetSuiteFault(404, "NONEXISTENT_ID", f"The async job {job_id} does not exist.")
        return job

    def describe(self, base_url: str, job_id: str) -> dict[str, Any]:
        """``GET /async/v1/job/{id}``."""
        job = self.get(job_id)
        url = f"{base_url.rstrip('/')}{self.job_path(job_id)}"
        return {
            "links": [link("self", url)],
            "completed": True,
            "id": job.id,
            "progress": job.progress,
            "task": {"links": [link("related", f"{url}/task/{job.id}")]},
        }

    def describe_task(self, base_url: str, job_id: str, task_id: str) -> dict[str, Any]:
        """``GET /async/v1/job/{id}/task/{taskId}``.

        Raises:
            NetSuiteFault: 404 for an unknown job or task.
        """
        job = self.get(job_id)
        if task_id != job.id:
            raise NetSuiteFault(404, "NONEXISTENT_ID", f"The task {task_id} does not exist.")
        url = f"{base_url.rstrip('/')}{self.job_path(job_id)}/task/{task_id}"
        return {
            "links": [link("self", url), link("related", f"{url}/result")],
            "completed": True,
            "startTime": _iso(job.started),
            "endTime": _iso(job.ended),
            "progress": job.progress,
        }


__all__ = ["AsyncJob", "AsyncJobs"]
