"""The heartbeat and the recovery duty every worker runs beside the engine.

DBOS recovers a crashed worker's runs only when a process with the *same* executor id starts
again (reference/engine.md §1.6); until then they stay PENDING and keep their queue slots.
Each worker therefore beats every ``heartbeat_seconds`` and, as often, looks for workers whose
heartbeat is older than ``stale_after_seconds`` (database time), claims them under a row lock
and hands their PENDING runs back to the queues (``Engine.recover_executor``).

Expected time from a SIGKILL to a survivor resuming the dead worker's runs: about
``stale_after_seconds`` plus one duty interval plus one queue poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from dbos import error as dbos_error
from sqlalchemy.exc import SQLAlchemyError

from contractsync.workflows.engine import Engine
from contractsync.workflows.heartbeats import Heartbeats, WorkerIdentity

_log = logging.getLogger(__name__)


class RecoveryDuty:
    """Find presumed-dead workers and recover their runs, one survivor per dead worker.

    Args:
        heartbeats: The heartbeat table.
        engine: This process's launched engine.
        me: This worker, never recovered by itself.
    """

    def __init__(self, heartbeats: Heartbeats, engine: Engine, me: WorkerIdentity) -> None:
        self._heartbeats = heartbeats
        self._engine = engine
        self._me = me

    def run_once(self) -> dict[str, list[str]]:
        """Recover every stale worker this survivor could claim; return their recovered run ids.

        The stale rows stay locked while their runs are re-enqueued and are deleted in the
        same transaction, so a worker restarting under one of those ids waits for the
        recovery to finish before it launches (see ``Heartbeats.claim``).
        """
        recovered: dict[str, list[str]] = {}
        with self._heartbeats.stale_executors(self._me) as dead:
            for executor_id in dead:
                recovered[executor_id] = self._engine.recover_executor(executor_id)
        for executor_id, runs in recovered.items():
            _log.warning(
                "worker %s presumed dead; %d run(s) handed back to the queues by %s",
                executor_id,
                len(runs),
                self._me.executor_id,
            )
        return recovered


class WorkerDuties:
    """Run the heartbeat and the recovery duty in background threads.

    Args:
        heartbeats: The heartbeat table.
        duty: The recovery duty.
        me: This worker.
        heartbeat_seconds: Interval of both the heartbeat and the recovery duty.
        on_recovered: Called with each non-empty ``RecoveryDuty.run_once`` result.
    """

    def __init__(
        self,
        heartbeats: Heartbeats,
        duty: RecoveryDuty,
        me: WorkerIdentity,
        *,
        heartbeat_seconds: float,
        on_recovered: Callable[[dict[str, list[str]]], None] | None = None,
    ) -> None:
        self._heartbeats = heartbeats
        self._duty = duty
        self._me = me
        self._interval = heartbeat_seconds
        self._on_recovered = on_recovered
        self._stop_beating = threading.Event()
        self._stop_recovering = threading.Event()
        self._beater = threading.Thread(
            target=self._beat_forever, name="contractsync-heartbeat", daemon=True
        )
        self._recoverer = threading.Thread(
            target=self._recover_forever, name="contractsync-recovery", daemon=True
        )

    def start(self) -> None:
        """Start both threads."""
        self._beater.start()
        self._recoverer.start()

    def stop_recovering(self) -> None:
        """Stop the recovery duty (first step of a shutdown: the engine is about to stop)."""
        self._stop_recovering.set()
        if self._recoverer.is_alive():
            self._recoverer.join(timeout=max(5.0, 2 * self._interval))

    def stop(self) -> None:
        """Stop both threads and mark this worker gone, so a survivor recovers what it left.

        Call it after the engine has stopped: until then the heartbeat must go on, or the
        runs finishing during the shutdown grace would look abandoned.
        """
        self.stop_recovering()
        self._stop_beating.set()
        if self._beater.is_alive():
            self._beater.join(timeout=max(5.0, 2 * self._interval))
        try:
            self._heartbeats.release(self._me)
        except SQLAlchemyError:
            _log.exception("could not mark worker %s gone; it goes stale instead", self._me)

    def _beat_forever(self) -> None:
        while not self._stop_beating.wait(self._interval):
            try:
                if not self._heartbeats.beat(self._me):
                    _log.warning(
                        "worker %s had been presumed dead and its runs recovered elsewhere; "
                        "beating again (is the database slow, or stale_after_seconds too low?)",
                        self._me.executor_id,
                    )
            except SQLAlchemyError:
                # A database hiccup must not kill the heartbeat: the next beat may work, and
                # a long outage rightly makes this worker look dead.
                _log.exception("heartbeat of %s failed", self._me.executor_id)

    def _recover_forever(self) -> None:
        while not self._stop_recovering.wait(self._interval):
            try:
                recovered = self._duty.run_once()
            except (SQLAlchemyError, dbos_error.DBOSException):
                _log.exception("recovery duty of %s failed; retrying", self._me.executor_id)
                continue
            if recovered and self._on_recovered is not None:
                self._on_recovered(recovered)


class Worker:
    """A running worker: the engine plus its heartbeat and recovery duty.

    Args:
        engine: The launched engine.
        duties: The started heartbeat and recovery threads.
        close: Releases what the composition root opened for the worker (database pools).
    """

    def __init__(self, engine: Engine, duties: WorkerDuties, close: Callable[[], None]) -> None:
        self.engine = engine
        self._duties = duties
        self._close = close

    @property
    def executor_id(self) -> str:
        """This worker's executor id."""
        return self.engine.executor_id

    def stop(self, *, grace_seconds: int) -> None:
        """Shut down in the safe order: no more recovery, engine (with grace), heartbeat.

        Runs that do not finish within ``grace_seconds`` stay PENDING; the heartbeat row is
        then marked stale, so a survivor recovers them at its next duty round.
        """
        self._duties.stop_recovering()
        try:
            self.engine.shutdown(grace_seconds=grace_seconds)
        finally:
            self._duties.stop()
            self._close()
