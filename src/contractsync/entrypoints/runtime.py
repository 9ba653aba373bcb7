"""The engine side of a hub process: workflow worker and outbox relay, started and stopped together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contractsync.bootstrap import build_relay, build_worker
from contractsync.config import Settings

if TYPE_CHECKING:  # the engine's modules import dbos (a second): only commands that run it pay
    from contractsync.adapters.messaging.relay import OutboxRelay
    from contractsync.workflows.recovery import Worker

_log = logging.getLogger(__name__)

RELAY_RESTART_SECONDS = 5.0
"""How long the relay waits before starting again after its storage failed."""


class RelayDuty:
    """Runs ``OutboxRelay.run`` on a daemon thread until stopped.

    Bus outages are the relay's own business (it backs off and keeps the entries); a
    storage error ends ``run``, and this duty starts it again after ``restart_seconds``, so a
    database restart never leaves events unrelayed until the process restarts.

    Args:
        relay: The relay (from ``bootstrap.build_relay``).
        interval: Seconds between polls of an idle outbox.
        restart_seconds: Pause before restarting after a storage error.
    """

    def __init__(
        self,
        relay: OutboxRelay,
        *,
        interval: float = 0.2,
        restart_seconds: float = RELAY_RESTART_SECONDS,
    ) -> None:
        self._relay = relay
        self._interval = interval
        self._restart_seconds = restart_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> None:
        """Start relaying in the background."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the batch in hand; wait up to ``timeout`` seconds."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._relay.run(self._stop, self._interval)
            # The relay is the only way committed events reach the bus: it must outlive a
            # database restart; the entries wait in the outbox meanwhile.
            except Exception:  # noqa: BLE001 - logged, restarted after a pause
                _log.exception("outbox relay failed; restarting in %.0f s", self._restart_seconds)
                self._stop.wait(self._restart_seconds)


@dataclass
class EngineRuntime:
    """A launched workflow worker (engine, heartbeat, recovery duty) and the outbox relay.

    Attributes:
        worker: The engine and its heartbeat and recovery threads.
        relay: The relay thread.
        close_relay: Closes the bus and the relay's database pool.
    """

    worker: Worker
    relay: RelayDuty
    close_relay: Callable[[], None]

    def stop(self, *, grace_seconds: int) -> None:
        """Stop the worker (runs get ``grace_seconds``), then the relay, then close the bus.

        The relay stops last, so events written by runs finishing in the grace period are
        still relayed when it can; whatever is left waits in the outbox for the next start.
        """
        try:
            self.worker.stop(grace_seconds=grace_seconds)
        finally:
            self.relay.stop()
            self.close_relay()


def start_engine_runtime(
    settings: Settings, *, executor_id: str | None, poll_seconds: float
) -> EngineRuntime:
    """Connect the bus, start the worker, then the relay thread.

    Raises:
        ContractSyncError: the bus is unreachable, or the worker cannot start (see
            ``bootstrap.build_worker``); nothing is left running then.
    """
    relay, close_relay = build_relay(settings)
    try:
        worker = build_worker(settings, executor_id=executor_id, poll_seconds=poll_seconds)
    except BaseException:
        close_relay()
        raise
    duty = RelayDuty(relay)
    duty.start()
    return EngineRuntime(worker, duty, close_relay)


__all__ = ["RELAY_RESTART_SECONDS", "EngineRuntime", "RelayDuty", "start_engine_runtime"]
