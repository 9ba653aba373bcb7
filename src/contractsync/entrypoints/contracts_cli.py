"""``contractsync contracts renew|terminate``: start a contract's renewal or termination run.

Like ``POST /api/v1/contracts/{id}:renew`` and ``:terminate``: the request is checked
against the hub's records (``services.lifecycle_requests``), then the durable run is
enqueued in the engine's database for a worker (``serve`` or ``contractsync worker``), so
this command needs no engine of its own. A second request for the same version or contract
names the same run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from contractsync.bootstrap import build_operator_runs, build_unit_of_work
from contractsync.config import load_settings
from contractsync.entrypoints.replay_cli import actor_name
from contractsync.errors import ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.workflows import LifecycleRuns
from contractsync.services.lifecycle_requests import (
    LifecycleRequest,
    request_renewal,
    request_termination,
)

contracts_app = typer.Typer(help="Renew or terminate a contract the hub holds.")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", envvar="CONTRACTSYNC_ACTOR", help="Who acts (default: cli:<user>)."),
]
ContractId = Annotated[str, typer.Argument(help="The canonical contract id.")]


def _fail(error: ContractSyncError) -> typer.Exit:
    console = Console(stderr=True)
    console.print(
        f"[bold red]error[/] {escape(f'[{error.code}]')} {escape(error.message)}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"[bold]next:[/] {escape(error.remediation)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@contextmanager
def _tools(config: Path | None) -> Iterator[tuple[UnitOfWork, LifecycleRuns, Clock]]:
    """A unit of work on the hub database and the engine's lifecycle runs; errors exit 1."""
    try:
        settings = load_settings(config)
        uow = build_unit_of_work(settings)
    except ContractSyncError as error:
        raise _fail(error) from error
    runs = build_operator_runs(settings)
    try:
        with uow:
            yield uow, runs, uow.clock
    except ContractSyncError as error:
        raise _fail(error) from error
    finally:
        runs.close()
        uow.engine.dispose()


def _run(
    config: Path | None,
    as_json: bool,
    request: Callable[[UnitOfWork, LifecycleRuns, Clock], LifecycleRequest],
) -> None:
    with _tools(config) as (uow, runs, clock):
        done = request(uow, runs, clock)
    if as_json:
        typer.echo(json.dumps(done.as_dict(), indent=2, ensure_ascii=False))
        return
    what = f"renewal to {done.new_end}" if done.kind == "renewal" else "termination"
    Console().print(
        f"{escape(done.contract_id)}: {what} runs as {escape(done.workflow_id)} "
        f"(version {done.version}); a worker takes it from the queue",
        soft_wrap=True,
        highlight=False,
    )


@contracts_app.command("renew")
def contracts_renew(
    contract_id: ContractId,
    end: Annotated[
        datetime,
        typer.Option("--end", formats=["%Y-%m-%d"], help="The new term end (YYYY-MM-DD)."),
    ],
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Renew a contract to a later end: its next version, through the amendment flow."""
    new_end: date = end.date()
    _run(
        config,
        as_json,
        lambda uow, runs, clock: request_renewal(
            uow, runs, clock, contract_id, new_end=new_end, actor=actor_name(actor)
        ),
    )


@contracts_app.command("terminate")
def contracts_terminate(
    contract_id: ContractId,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")],
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Terminate a contract: it ends where it stands and its project is closed everywhere."""
    if not reason.strip():
        raise typer.BadParameter("give a reason", param_hint="--reason")
    _run(
        config,
        as_json,
        lambda uow, runs, clock: request_termination(
            uow, runs, clock, contract_id, reason=reason, actor=actor_name(actor)
        ),
    )


__all__ = ["contracts_app"]
