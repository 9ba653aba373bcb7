"""``contractsync serve``: the API and webhook ingress under uvicorn, with the dispatch sweep."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from contractsync.bootstrap import ApiContainer, build_api
from contractsync.config import load_settings
from contractsync.entrypoints.api import create_app
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


def _start_workers(container: ApiContainer) -> None:
    """Hook for in-process workers (``serve`` without ``--no-workers``).

    The durable engine's worker is built by ``bootstrap.build_worker``; once its inbox
    workflow is wired to ``bootstrap.build_dispatcher``, start it here and stop it on exit.
    Until then, accepted messages stay RECEIVED and ``contractsync worker`` processes do not
    see them either.
    """
    _log.info("in-process workers: not wired yet; messages wait in the inbox")


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
) -> None:
    """Serve the API and webhook ingress (and, unless --no-workers, the workflow workers)."""
    try:
        settings = load_settings(config)
        container = build_api(settings)
        container.check_ready()
    except ContractSyncError as error:
        typer.echo(f"error [{error.code}] {error.message}\nnext: {error.remediation}", err=True)
        raise typer.Exit(code=1) from error
    sweep = DispatchSweep(container)
    try:
        if not no_workers:
            _start_workers(container)
        sweep.start()
        names = ", ".join(sorted(container.sources)) or "none configured"
        typer.echo(f"contractsync serving on http://{host}:{port} (webhook sources: {names})")
        uvicorn.run(create_app(container), host=host, port=port, log_level="info")
    finally:
        sweep.stop()
        container.close()


__all__ = ["DispatchSweep", "serve_command"]
