"""``contractsync serve``: the API and webhook ingress, and (by default) the engine, in one process.

Threads of an embedded ``serve`` (the default):

* main: uvicorn serving the API; SIGTERM or SIGINT starts the graceful shutdown;
* uvicorn's thread pool: each webhook is stored, acknowledged and its run enqueued;
* the engine (DBOS): queue pollers and the threads running workflows;
* ``contractsync-heartbeat`` and ``contractsync-recovery``: this worker's heartbeat and the
  recovery duty for dead workers' runs;
* ``outbox-relay``: committed events to the bus (in-process, or NATS with
  ``messaging.bus = nats``);
* ``dispatch-sweep``: starts messages stored but never dispatched;
* ``poll-<source>``: one per ``ingress.pollers`` source (systems without webhooks), storing
  each page with its cursor in the inbox, then dispatching.

With ``--no-workers`` only the API, its thread pool, the sweep and the pollers run; runs are enqueued in
the engine's database for ``contractsync worker`` processes. Shutdown order: the API stops
taking requests and finishes those in hand, the sweep stops, the engine gives running
workflows ``--grace-seconds`` (the rest resume elsewhere or at the next start), the heartbeat
is released, the relay stops, the bus and database pools close.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn

from contractsync.bootstrap import (
    ApiContainer,
    build_api,
    build_dispatcher,
    build_polling_runner,
)
from contractsync.config import load_settings
from contractsync.entrypoints.api import create_app
from contractsync.entrypoints.runtime import EngineRuntime, start_engine_runtime
from contractsync.errors import ContractSyncError
from contractsync.services.ingress import dispatch_waiting

_log = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 10.0
"""How often the sweep looks for stored messages whose workflow never started."""
SWEEP_GRACE = timedelta(seconds=30)
"""A message younger than this is still in its own request's hands; the sweep leaves it."""


class DispatchSweep:
    """A daemon thread that runs ``services.ingress.dispatch_waiting`` every ``interval``.

    Args:
        container: Where the unit of work, dispatcher and clock come from.
        interval: Seconds between sweeps.
        grace: How old a RECEIVED message must be to count as lost.
    """

    def __init__(
        self,
        container: ApiContainer,
        *,
        interval: float = SWEEP_INTERVAL_SECONDS,
        grace: timedelta = SWEEP_GRACE,
    ) -> None:
        self._container = container
        self._interval = interval
        self._grace = grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatch-sweep", daemon=True)

    def start(self) -> None:
        """Start sweeping in the background."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def sweep_once(self) -> int:
        """Dispatch every lost message now; return how many were started."""
        report = dispatch_waiting(
            self._container.uow_factory,
            self._container.dispatcher,
            self._container.clock,
            older_than=self._grace,
        )
        if report.failed:
            _log.warning(
                "dispatch sweep: %d message(s) still waiting (first: %s, %s)",
                len(report.failed),
                *report.failed[0],
            )
        return len(report.dispatched)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sweep_once()
            # The sweep is the safety net of every acknowledged webhook: it must outlive
            # a database restart or any other failure of one pass.
            except Exception:  # noqa: BLE001 - logged; the next pass tries again
                _log.exception("dispatch sweep failed; retrying in %.0f s", self._interval)


def _own_the_shutdown_signals(grace_seconds: int) -> None:
    """Keep SIGTERM and SIGINT from killing the process once uvicorn has stopped the API.

    uvicorn handles the first signal (it stops taking requests) and then re-raises it to
    whatever handler was there before it; without this one that is the default, which would
    kill the process before the engine, heartbeat and relay are shut down. A signal arriving
    after the API stopped means "do not wait": the process exits at once.
    """
    stopping = threading.Event()

    def on_signal(number: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            os._exit(130)
        stopping.set()
        typer.echo(
            f"{signal.Signals(number).name}: stopping the engine (grace {grace_seconds}s)",
            err=True,
        )

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.", min=1, max=65535)] = 8080,
    no_workers: Annotated[
        bool,
        typer.Option(
            "--no-workers", help="Serve the API only; `contractsync worker` processes run flows."
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
    ] = None,
    executor_id: Annotated[
        str | None,
        typer.Option(
            "--executor-id",
            help="Executor id of the embedded worker (default: engine.executor_id, else host-pid).",
        ),
    ] = None,
    poll_seconds: Annotated[
        float,
        typer.Option("--poll-seconds", min=0.01, help="How often the engine polls its queues."),
    ] = 1.0,
    grace_seconds: Annotated[
        int,
        typer.Option(
            "--grace-seconds",
            min=0,
            help="On shutdown, how long running workflows may take to finish.",
        ),
    ] = 10,
) -> None:
    """Serve the API and webhook ingress (and, unless --no-workers, the workflow engine)."""
    runtime: EngineRuntime | None = None
    try:
        settings = load_settings(config)
        if not no_workers:
            runtime = start_engine_runtime(
                settings, executor_id=executor_id, poll_seconds=poll_seconds
            )
        dispatcher = (
            None if runtime is None else build_dispatcher(settings, engine=runtime.worker.engine)
        )
        container = build_api(settings, dispatcher=dispatcher)
        container.check_ready()
        pollers = build_polling_runner(
            settings,
            uow_factory=container.uow_factory,
            dispatcher=container.dispatcher,
            clock=container.clock,
        )
    except ContractSyncError as error:
        if runtime is not None:
            runtime.stop(grace_seconds=0)
        typer.echo(f"error [{error.code}] {error.message}\nnext: {error.remediation}", err=True)
        raise typer.Exit(code=1) from error
    sweep = DispatchSweep(container)
    try:
        sweep.start()
        pollers.start()
        names = ", ".join(sorted(container.sources)) or "none configured"
        engine = "no workers" if runtime is None else f"worker {runtime.worker.executor_id}"
        typer.echo(
            f"contractsync serving on http://{host}:{port} (webhook sources: {names}; {engine})"
        )
        _own_the_shutdown_signals(grace_seconds)
        uvicorn.run(create_app(container), host=host, port=port, log_level="info")
    finally:
        pollers.stop()
        sweep.stop()
        try:
            if runtime is not None:
                runtime.stop(grace_seconds=grace_seconds)
        finally:
            container.close()


__all__ = ["DispatchSweep", "serve_command"]
