"""``contractsync replay``: run a failed message, workflow or ExceptionItem again, once.

``replay message|workflow|exception ID`` replays one item now (``--dry-run`` only shows the
plan). ``replay --source S --status failed --since T --until T`` selects inbox messages and
always prints the dry-run list first; it acts only with ``--yes``, with a progress bar.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from contractsync.bootstrap import build_replay_tools
from contractsync.config import load_settings
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.storage import InboxStatus
from contractsync.services.replay import (
    ReplayPlan,
    ReplayResult,
    ReplayTarget,
    ReplayTools,
    TargetKind,
    plan,
    plan_selection,
    replay,
)

replay_app = typer.Typer(
    help="Run failed work again, once: by message, workflow, exception item, or in bulk."
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", envvar="CONTRACTSYNC_ACTOR", help="Who acts (default: cli:<user>)."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Only show what the replay would do.")
]


def actor_name(given: str | None) -> str:
    """The audited actor: ``--actor`` (or CONTRACTSYNC_ACTOR), else ``cli:<login>``."""
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


@contextmanager
def _tools(config: Path | None) -> Iterator[ReplayTools]:
    try:
        tools = build_replay_tools(load_settings(config))
    except ContractSyncError as error:
        raise _fail(error) from error
    try:
        yield tools
    except ContractSyncError as error:
        raise _fail(error) from error
    finally:
        tools.close()


def _plans_table(plans: list[ReplayPlan], title: str) -> Table:
    table = Table(title=title)
    for column in ("target", "action", "run", "from step", "why"):
        table.add_column(column, overflow="fold")
    for each in plans:
        step = "" if each.from_step is None else str(each.from_step)
        table.add_row(
            str(each.target), each.action.value, each.workflow_id or "", step, each.reason
        )
    return table


def _results_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Replayed")
    for column in ("target", "outcome", "new run"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["target"], row["outcome"], row.get("new_workflow_id") or "")
    return table


def replay_one(
    kind: TargetKind,
    target_id: str,
    *,
    dry_run: bool,
    actor: str | None,
    config: Path | None,
    as_json: bool,
) -> None:
    """Plan, or replay, one item and print it; a refusal exits 1 with what to do next."""
    target = ReplayTarget(kind, target_id)
    with _tools(config) as tools:
        if dry_run:
            planned = plan(tools, target)
            if as_json:
                typer.echo(json.dumps({"dry_run": True, "plans": [planned.as_dict()]}, indent=2))
            else:
                Console().print(_plans_table([planned], "Replay plan (dry run)"))
            return
        result = replay(tools, target, actor=actor_name(actor))
    if as_json:
        typer.echo(json.dumps({"dry_run": False, "results": [result.as_dict()]}, indent=2))
        return
    _say(result)


def _say(result: ReplayResult) -> None:
    target, outcome = result.plan.target, result.outcome
    if result.new_workflow_id is None:
        Console().print(f"{target}: {outcome} ({result.plan.reason}); nothing was run")
    else:
        step = result.plan.from_step
        where = "" if step is None else f" from step {step}"
        Console().print(f"{target}: {outcome} as {result.new_workflow_id}{where}", soft_wrap=True)


@replay_app.command("message")
def replay_message(
    message_id: Annotated[str, typer.Argument(help="The inbox message id.")],
    dry_run: DryRunOption = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay one inbound message (its failed run, or a start if it never ran)."""
    replay_one("message", message_id, dry_run=dry_run, actor=actor, config=config, as_json=as_json)


@replay_app.command("workflow")
def replay_workflow(
    workflow_id: Annotated[str, typer.Argument(help="The workflow id (any run of its lineage).")],
    dry_run: DryRunOption = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay one workflow run: its latest attempt, if that failed."""
    replay_one(
        "workflow", workflow_id, dry_run=dry_run, actor=actor, config=config, as_json=as_json
    )


@replay_app.command("exception")
def replay_exception(
    item_id: Annotated[str, typer.Argument(help="The exception item id (EX-...).")],
    dry_run: DryRunOption = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay what an exception item names; the item is marked retried."""
    replay_one("exception", item_id, dry_run=dry_run, actor=actor, config=config, as_json=as_json)


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise _fail(
            DataError(
                f"{option} {text!r} is not an ISO 8601 date or time",
                code="cli.bad_time",
                remediation=f"Write {option} like 2026-03-02 or 2026-03-02T09:30:00+01:00.",
            )
        ) from error
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@replay_app.callback(invoke_without_command=True)
def replay_bulk(
    context: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    status: Annotated[
        list[InboxStatus] | None,
        typer.Option("--status", help="Only messages in these statuses (default: failed)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Received at or after (ISO 8601; UTC if bare).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Received before (ISO 8601).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 1000,
    yes: Annotated[
        bool, typer.Option("--yes", help="Execute after showing the plan (default: dry run).")
    ] = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bulk: select inbox messages, show the dry-run plan, replay them with --yes."""
    if context.invoked_subcommand is not None:
        return
    if source is None and since is None and until is None and not status:
        typer.echo(context.get_help())
        raise typer.Exit(code=2)
    received_from, received_until = _instant(since, "--since"), _instant(until, "--until")
    with _tools(config) as tools:
        plans = plan_selection(
            tools,
            source=source,
            statuses=tuple(status or (InboxStatus.FAILED,)),
            received_from=received_from,
            received_until=received_until,
            limit=limit,
        )
        if not as_json:
            Console().print(_plans_table(plans, f"Replay plan: {len(plans)} message(s)"))
        rows = _execute(tools, plans, actor_name(actor), quiet=as_json) if yes else []
    if as_json:
        document = {"dry_run": not yes, "plans": [p.as_dict() for p in plans], "results": rows}
        typer.echo(json.dumps(document, indent=2))
    elif not yes:
        runnable = sum(p.will_run for p in plans)
        Console().print(f"dry run: {runnable} would run; add --yes to replay them")
    else:
        Console().print(_results_table(rows))
    if any(row["outcome"] not in ("replayed", "started", "already succeeded") for row in rows):
        raise typer.Exit(code=1)


def _execute(
    tools: ReplayTools, plans: list[ReplayPlan], actor: str, *, quiet: bool
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), disable=quiet, transient=True) as progress:
        task = progress.add_task("replaying", total=len(plans))
        for each in plans:
            try:
                rows.append(replay(tools, each.target, actor=actor).as_dict())
            # One item refused (running, gone) must not stop the others; each is reported.
            except ContractSyncError as error:
                rows.append({**each.as_dict(), "outcome": error.code, "error": error.message})
            progress.advance(task)
    return rows


__all__ = ["actor_name", "replay_app", "replay_one"]
