"""Runs ``services.polling.poll_once`` on a schedule, one daemon thread per polled source."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from contractsync.errors import ContractSyncError, TransientError
from contractsync.ports.clock import Clock
from contractsync.ports.ingress import Poller
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.workflows import WorkflowDispatcher
from contractsync.services.polling import PollReport, poll_once

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollingJob:
    """One polled source and its schedule.

    Attributes:
        source: The source name (inbox and cursor key).
        poller: Its feed.
        interval_seconds: Pause between passes that caught up with the feed.
        page_limit: Events asked for per page.
        max_pages: Pages per pass; a pass that stops at this bound is followed at once.
        backoff_cap_seconds: Longest pause after repeated failures.
    """

    source: str
    poller: Poller
    interval_seconds: float
    page_limit: int = 100
    max_pages: int = 10
    backoff_cap_seconds: float = 300.0


@dataclass(frozen=True, slots=True)
class PollerState:
    """What a source's poller last did, for logs, health and tests.

    Attributes:
        last_report: The last pass that succeeded.
        last_error: Code and message of the last failure since then, or None.
        failures: Consecutive failed passes (0 after a success).
        next_wait: Seconds the poller waits before its next pass.
    """

    last_report: PollReport | None = None
    last_error: str | None = None
    failures: int = 0
    next_wait: float = 0.0


class PollingRunner:
    """Polls every job's source on its schedule, backing off while it fails.

    After a pass that caught up, the next waits ``interval_seconds``; after a pass that hit
    its page bound, the next starts at once. After ``n`` consecutive failures the wait is
    drawn from ``[c/2, c]`` with ``c = min(cap, interval * 2**n)`` (jittered, so pollers
    hit by one outage do not return in lockstep) and never shorter than a TransientError's
    ``retry_after``. A failed pass stored nothing past its cursor (see ``poll_once``), so
    retrying it later loses nothing. Other errors (a wrong setting, an expired cursor) are
    logged and retried on the same backoff: the poller keeps running until stopped.

    Args:
        jobs: The sources to poll; names must be unique.
        uow_factory: Builds a fresh unit of work (one per transaction); thread-safe.
        dispatcher: Starts the workflow of each newly stored message; thread-safe.
        clock: Gives receive times.
        jitter: Returns a float in ``[0, 1)``; inject a constant in tests.
    """

    def __init__(
        self,
        jobs: Sequence[PollingJob],
        *,
        uow_factory: Callable[[], UnitOfWork],
        dispatcher: WorkflowDispatcher,
        clock: Clock,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._jobs = {job.source: job for job in jobs}
        if len(self._jobs) != len(jobs):
            raise ValueError("each polled source may have one job only")
        self._uow_factory = uow_factory
        self._dispatcher = dispatcher
        self._clock = clock
        self._jitter = jitter
        self._states = {source: PollerState() for source in self._jobs}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def sources(self) -> tuple[str, ...]:
        """The polled source names."""
        return tuple(self._jobs)

    def start(self) -> None:
        """Start one daemon thread per source; each polls at once, then on its schedule."""
        if self._threads:
            return
        self._stop.clear()
        for source in self._jobs:
            thread = threading.Thread(target=self._run, args=(source,), name=f"poll-{source}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every thread to stop and wait up to ``timeout`` seconds for each."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def status(self) -> Mapping[str, PollerState]:
        """Each source's state now (a copy)."""
        with self._lock:
            return dict(self._states)

    def tick(self, source: str) -> float:
        """Run one pass for ``source`` now, record its outcome, return the wait before the next.

        Never raises for a failed pass: the failure is logged and recorded in
        :meth:`status`.

        Raises:
            KeyError: ``source`` has no job.
        """
        job = self._jobs[source]
        try:
            report = poll_once(
                self._uow_factory,
                job.poller,
                self._dispatcher,
                self._clock,
                source=source,
                limit=job.page_limit,
                max_pages=job.max_pages,
            )
        except TransientError as error:
            _log.warning("poller %s: %s; backing off", source, error)
            return self._failed(job, error, retry_after=error.retry_after)
        except ContractSyncError as error:
            _log.error("poller %s: %s; next: %s", source, error, error.remediation)
            return self._failed(job, error, retry_after=None)
        # A poller is the only way its source's events arrive: it must outlive any failure
        # of one pass (a database restart, a bug in a feed's parsing) and keep trying.
        except Exception as error:  # noqa: BLE001 - logged with its traceback; retried
            _log.exception("poller %s failed", source)
            return self._failed(job, error, retry_after=None)
        wait = 0.0 if report.has_more else job.interval_seconds
        with self._lock:
            self._states[source] = PollerState(last_report=report, next_wait=wait)
        if report.accepted or report.lost_race:
            _log.info("poller %s: %s", source, report)
        return wait

    def _failed(self, job: PollingJob, error: Exception, *, retry_after: float | None) -> float:
        with self._lock:
            state = self._states[job.source]
            failures = state.failures + 1
            ceiling = min(job.backoff_cap_seconds, job.interval_seconds * 2.0 ** min(failures, 32))
            wait = ceiling / 2 + self._jitter() * ceiling / 2
            if retry_after is not None:
                wait = max(wait, retry_after)
            self._states[job.source] = replace(
                state, last_error=str(error), failures=failures, next_wait=wait
            )
        return wait

    def _run(self, source: str) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.tick(source)


__all__ = ["PollerState", "PollingJob", "PollingRunner"]
