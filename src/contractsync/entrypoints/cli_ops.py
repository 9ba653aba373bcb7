"""Operator commands: ``db upgrade``, ``exceptions ...`` and ``audit verify``."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape

from contractsync.adapters.persistence.migrate import head, upgrade
from contractsync.bootstrap import build_operator_runs, build_unit_of_work
from contractsync.config import load_settings
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.roles import OwnerRole
from contractsync.entrypoints.exceptions_render import render_item, render_items
from contractsync.entrypoints.replay_cli import replay_one
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services import exception_queue as queue
from contractsync.services.audit import verify_log
from contractsync.services.decision_delivery import decision_for, deliver_decision

db_app = typer.Typer(help="The hub database.", no_args_is_help=True)
exceptions_app = typer.Typer(help="Work the exception queue.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", envvar="CONTRACTSYNC_ACTOR", help="Who acts (default: cli:<user>)."),
]
ItemId = Annotated[str, typer.Argument(help="The exception item id (EX-...).")]


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def _fail(error: ContractSyncError) -> typer.Exit:
    console = Console(stderr=True)
    console.print(
        f"[bold red]error[/] {escape(f'[{error.code}]')} {escape(error.message)}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"[bold]next:[/] {escape(error.remediation)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@contextmanager
def _unit(config: Path | None) -> Iterator[tuple[UnitOfWork, Clock]]:
    """An open unit of work on the configured database; ContractSyncError exits 1."""
    try:
        uow = build_unit_of_work(load_settings(config))
    except ContractSyncError as error:
        raise _fail(error) from error
    try:
        with uow:
            yield uow, uow.clock
    except ContractSyncError as error:
        raise _fail(error) from error
    finally:
        uow.engine.dispose()


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Create or migrate the hub database to this release's schema (safe to repeat)."""
    try:
        settings = load_settings(config)
        revision = upgrade(settings.database.url)
    except ContractSyncError as error:
        raise _fail(error) from error
    if as_json:
        _echo_json({"revision": revision, "head": head()})
    else:
        Console().print(f"hub database at revision {revision} (this release's head: {head()})")


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[
        list[ExceptionStatus] | None, typer.Option("--status", help="Only these statuses.")
    ] = None,
    owner: Annotated[OwnerRole | None, typer.Option("--owner", help="Only this owner.")] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="Only this contract.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List exception items, oldest first."""
    with _unit(config) as (uow, _):
        items = uow.exceptions.list(
            status=status or (), owner=owner, contract_id=contract, limit=limit
        )
    if as_json:
        _echo_json([item.model_dump(mode="json") for item in items])
        return
    render_items(items, Console())


@exceptions_app.command("show")
def exceptions_show(
    item_id: ItemId, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Show one item: the facts, the evidence and its history."""
    with _unit(config) as (uow, _):
        item = uow.exceptions.get(item_id)
    if item is None:
        raise _fail(_not_found(item_id))
    if as_json:
        _echo_json(item.model_dump(mode="json"))
        return
    render_item(item, Console())


@exceptions_app.command("assign")
def exceptions_assign(
    item_id: ItemId,
    to: Annotated[str, typer.Option("--to", help="Who takes the item.")],
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give an item to someone."""
    _act(
        config,
        as_json,
        lambda uow, clock: queue.assign(uow, clock, item_id, to=to, actor=_actor(actor)),
    )


@exceptions_app.command("retry")
def exceptions_retry(
    item_id: ItemId,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay what the item names, once (same as `contractsync replay exception ID`)."""
    replay_one("exception", item_id, dry_run=False, actor=actor, config=config, as_json=as_json)


@exceptions_app.command("resolve")
def exceptions_resolve(
    item_id: ItemId,
    note: Annotated[str, typer.Option("--note", help="What was fixed, for the audit log.")],
    data: Annotated[
        Path | None, typer.Option("--data", help="JSON or YAML file of corrected data.")
    ] = None,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close an item as fixed, optionally with corrected data; a waiting flow goes on at once."""
    try:
        corrected = None if data is None else _read_data(data)
    except ContractSyncError as error:
        raise _fail(error) from error
    _act(
        config,
        as_json,
        lambda uow, clock: queue.resolve(
            uow, clock, item_id, actor=_actor(actor), note=note, corrected_data=corrected
        ),
        wake=True,
    )


@exceptions_app.command("dismiss")
def exceptions_dismiss(
    item_id: ItemId,
    reason: Annotated[str, typer.Option("--reason", help="Why no fix is needed.")],
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close an item without a fix; the reason is audited; a waiting flow is told at once."""
    _act(
        config,
        as_json,
        lambda uow, clock: queue.dismiss(uow, clock, item_id, actor=_actor(actor), reason=reason),
        wake=True,
    )


@audit_app.command("verify")
def audit_verify(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Recompute the audit chain; exit 1 naming the first bad entry if it was tampered with."""
    with _unit(config) as (uow, _):
        report = verify_log(uow)
    if as_json:
        _echo_json(report.as_dict())
    elif report.first_break is None:
        Console().print(
            f"audit log intact: {report.checked} entries, last seq {report.last_seq}, "
            f"head {report.head_hash}"
        )
    else:
        broken = report.first_break
        console = Console(stderr=True)
        console.print(
            f"[bold red]audit log broken[/] at entry seq {broken.seq} (position {broken.position}, "
            f"{broken.fault.value}): {escape(broken.explanation)}",
            soft_wrap=True,
        )
        console.print(
            "[bold]next:[/] treat the log as tampered with: restore it from a backup and "
            "compare it with the last checkpoint you hold elsewhere.",
            soft_wrap=True,
        )
    if not report.is_intact:
        raise typer.Exit(code=1)


def _act(
    config: Path | None,
    as_json: bool,
    action: Callable[[UnitOfWork, Clock], ExceptionItem],
    *,
    wake: bool = False,
) -> None:
    with _unit(config) as (uow, clock):
        try:
            item = action(uow, clock)
            uow.commit()
        except ContractSyncError as error:
            raise _fail(error) from error
    told = _tell_waiting_run(config, item) if wake else None
    if as_json:
        _echo_json(item.model_dump(mode="json"))
    else:
        who = f" ({item.assignee})" if item.assignee else ""
        Console().print(f"{item.id} is now {item.status.value}{who}")
        if told is not None:
            Console().print(f"told the waiting run {escape(told)}", soft_wrap=True)


def _tell_waiting_run(config: Path | None, item: ExceptionItem) -> str | None:
    """Tell the run waiting on the committed ``item``; its id when told, else None.

    A failure is logged (stderr) and leaves the item closed: the run notices it at its
    next poll.
    """
    if decision_for(item) is None:
        return None
    try:
        operator = build_operator_runs(load_settings(config))
    except ContractSyncError as error:  # the settings loaded a moment ago; be safe anyway
        Console(stderr=True).print(f"could not tell the waiting run: {escape(error.message)}")
        return None
    try:
        delivery = deliver_decision(operator, item)
    finally:
        operator.close()
    if delivery is None:
        return None
    if not delivery.sent:
        console = Console(stderr=True)
        console.print(
            f"[bold yellow]warning[/] {item.id} is {item.status.value}, but the waiting run "
            f"{escape(delivery.decision.workflow_id)} could not be told now: "
            f"{escape(delivery.error or 'unknown error')}",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            "[bold]next:[/] nothing to do: the run notices at its next poll "
            "(flows.decision_poll_seconds).",
            highlight=False,
            soft_wrap=True,
        )
        return None
    return delivery.decision.workflow_id


def _read_data(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(
            f"cannot read corrected data from {path}: {exc}",
            code="cli.bad_data_file",
            remediation="Pass a readable JSON or YAML file holding one mapping.",
        ) from exc
    if not isinstance(loaded, dict):
        raise DataError(
            f"{path} must hold one mapping of corrected fields",
            code="cli.bad_data_file",
            remediation='Write the corrected fields as a JSON object, e.g. {"vat_id": "DE1"}.',
        )
    return loaded


def _not_found(item_id: str) -> ContractSyncError:
    return DataError(
        f"there is no exception item {item_id}",
        code="exception.not_found",
        remediation="List the items with `contractsync exceptions list` and use one of their ids.",
    )
