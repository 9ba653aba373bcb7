"""``contractsync worker``: run queued workflows and relay the outbox until SIGTERM or SIGINT.

Threads of a worker (no API; for the scale-out deployment beside ``serve --no-workers``):

* main: waits for a signal; the first starts the graceful shutdown, a second exits at once;
* the engine (DBOS): queue pollers and the threads running workflows;
* ``contractsync-heartbeat`` and ``contractsync-recovery``: this worker's heartbeat, and the
  recovery duty that hands a dead worker's runs back to the queues;
* ``outbox-relay``: committed events to the bus (NATS with ``messaging.bus = nats``).

Shutdown order: no more recovery, the engine gives running workflows ``--grace-seconds``
(the rest stay PENDING and resume elsewhere), the heartbeat is released, the relay stops,
the bus and database pools close.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from contractsync.config import load_settings
from contractsync.entrypoints.runtime import start_engine_runtime
from contractsync.errors import ContractSyncError

_console = Console(stderr=True)


def worker_command(
    executor_id: Annotated[
        str | None,
        typer.Option(
            "--executor-id",
            help="Stable id of this worker slot (default: engine.executor_id, else host-pid). "
            "A restart with the same id resumes this worker's runs at once.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
    ] = None,
    poll_seconds: Annotated[
        float,
        typer.Option(
            "--poll-seconds",
            min=0.01,
            help="How often queues are polled for work; lower reacts faster, costs idle load.",
        ),
    ] = 1.0,
    grace_seconds: Annotated[
        int,
        typer.Option(
            "--grace-seconds",
            min=0,
            help="On SIGTERM/SIGINT, how long running workflows may take to finish; the rest "
            "stay PENDING and are resumed by a restart or a surviving worker.",
        ),
    ] = 10,
) -> None:
    """Run workflows from the queues, relay the outbox, and recover dead workers' runs."""
    stop = threading.Event()

    def _on_signal(number: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: the operator does not want to wait
            os._exit(130)
        _console.print(f"{signal.Signals(number).name}: stopping (grace {grace_seconds}s)")
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        settings = load_settings(config)
        runtime = start_engine_runtime(settings, executor_id=executor_id, poll_seconds=poll_seconds)
    except ContractSyncError as error:
        _console.print(f"[bold red]error[/] {escape(f'[{error.code}]')} {escape(error.message)}")
        _console.print(f"[bold]next:[/] {escape(error.remediation)}")
        raise typer.Exit(code=1) from error
    worker = runtime.worker
    queues = ", ".join(sorted(worker.engine.queues)) or "none"
    _console.print(
        f"worker {escape(worker.executor_id)} ready (pid {os.getpid()}; queues: {queues}; "
        f"relay to the {settings.messaging.bus} bus)",
        highlight=False,
    )
    while not stop.wait(1.0):  # a timed wait keeps the main thread responsive to signals
        pass
    runtime.stop(grace_seconds=grace_seconds)
    _console.print(f"worker {escape(worker.executor_id)} stopped", highlight=False)
