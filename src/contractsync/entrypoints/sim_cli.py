"""``contractsync sim``: run vendor simulators as local servers, one vendor or all of them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from contractsync.errors import ConfigError
from contractsync.simulators import SIMULATORS, FaultPlan, Simulator, build_simulator
from contractsync.simulators.server import LOOPBACK, self_signed_certificate, serve


def _plan(faults: str | None, seed: int) -> FaultPlan:
    if faults is None:
        return FaultPlan(seed=seed)
    text = Path(faults[1:]).read_text() if faults.startswith("@") else faults
    try:
        return FaultPlan.model_validate({"seed": seed, **json.loads(text)})
    except (ValueError, ValidationError) as exc:
        raise typer.BadParameter(f"--faults is not a fault plan: {exc}") from None


def sim_command(
    vendor: Annotated[
        str | None, typer.Option("--vendor", help=f"One of: {', '.join(sorted(SIMULATORS))}.")
    ] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every simulator.")] = False,
    port: Annotated[int, typer.Option("--port", help="Port of the one --vendor.")] = 8100,
    base_port: Annotated[
        int, typer.Option("--base-port", help="With --all: first port, then one per vendor.")
    ] = 8100,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = LOOPBACK,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fault draws.")] = 0,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="Initial fault plan as JSON ('{\"server_error_rate\": 0.2}') or @file.json; "
            "change it later with PUT /_sim/faults.",
        ),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve HTTPS with a fresh self-signed certificate.")
    ] = False,
    webhook_url: Annotated[
        str | None, typer.Option("--webhook-url", help="Subscribe this URL to every event.")
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret",
            envvar="CONTRACTSYNC_SIM_WEBHOOK_SECRET",
            help="Signing secret of --webhook-url (whsec_... for Standard Webhooks).",
        ),
    ] = None,
) -> None:
    """Serve vendor simulators on loopback until Ctrl-C: a local cloud for offline tests."""
    if run_all == (vendor is not None):
        raise typer.BadParameter("give exactly one of --vendor NAME or --all")
    names = sorted(SIMULATORS) if run_all else [vendor or ""]
    first = base_port if run_all else port
    plan = _plan(faults, seed)
    try:
        sims: list[tuple[Simulator, int]] = [
            (build_simulator(name, faults=plan), first + i) for i, name in enumerate(names)
        ]
    except ConfigError as error:
        raise typer.BadParameter(error.message) from None
    if webhook_url:
        if not webhook_secret:
            raise typer.BadParameter("--webhook-url needs --webhook-secret")
        for sim, _ in sims:
            sim.webhooks.subscribe(webhook_url, webhook_secret)
    certificate = (
        self_signed_certificate(Path(tempfile.mkdtemp(prefix="contractsync-sim-"))) if tls else None
    )
    scheme = "https" if tls else "http"
    table = Table(title="contractsync simulators")
    for column in ("vendor", "base URL", "operator API"):
        table.add_column(column)
    for sim, sim_port in sims:
        url = f"{scheme}://{host}:{sim_port}"
        table.add_row(sim.vendor, url, f"{url}/_sim")
    console = Console()
    console.print(table)
    if certificate:
        console.print(f"trust this certificate: {certificate.certfile}", highlight=False)
    serve(sims, host=host, tls=certificate)


__all__ = ["sim_command"]
