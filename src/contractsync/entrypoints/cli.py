"""The ``contractsync`` command line: every command, each from its own module; the sample run and schema export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contractsync.entrypoints.check_cli import check_command
from contractsync.entrypoints.cli_ops import audit_app, db_app, exceptions_app
from contractsync.entrypoints.contracts_cli import contracts_app
from contractsync.entrypoints.demo import default_examples_dir, run_demo
from contractsync.entrypoints.demo_render import render_report, report_json
from contractsync.entrypoints.erp_cli import erp_app
from contractsync.entrypoints.reconcile_cli import reconcile_command
from contractsync.entrypoints.replay_cli import replay_app
from contractsync.entrypoints.schema_export import export_schemas
from contractsync.entrypoints.serve import serve_command
from contractsync.entrypoints.sim_cli import sim_command
from contractsync.entrypoints.story.command import demo_command
from contractsync.entrypoints.worker import worker_command
from contractsync.errors import ContractSyncError

app = typer.Typer(
    name="contractsync",
    help="contractsync: keep CLM, CRM, PSA and ERP in step through one canonical contract model.",
    no_args_is_help=True,
    add_completion=False,
)
schema_app = typer.Typer(help="The canonical model's JSON Schemas.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(erp_app, name="erp")
app.add_typer(db_app, name="db")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(contracts_app, name="contracts")
app.add_typer(audit_app, name="audit")
app.add_typer(replay_app, name="replay")
app.command("check")(check_command)
app.command("serve")(serve_command)
app.command("sim")(sim_command)
app.command("worker")(worker_command)
app.command("reconcile")(reconcile_command)
app.command("demo")(demo_command)


def _fail(error: ContractSyncError) -> typer.Exit:
    """Print ``error`` and what to do about it on stderr; return the exit to raise."""
    console = Console(stderr=True)
    console.print(
        f"[bold red]error[/] {escape(f'[{error.code}]')} {escape(error.message)}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"[bold]next:[/] {escape(error.remediation)}", highlight=False)
    return typer.Exit(code=1)


@app.command("samples")
def samples(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples",
            help="Folder of NN-slug.yaml sample contracts "
            "(default: ./examples/contracts, else the packaged copy).",
        ),
    ] = None,
) -> None:
    """Put every sample contract through the core alone: validate, schedule, plan, decide."""
    try:
        report = run_demo(examples or default_examples_dir())
    except ContractSyncError as error:
        raise _fail(error) from error
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        render_report(report, Console())
    if report.mismatches:
        console = Console(stderr=True)
        console.print(
            f"[bold red]{len(report.mismatches)} result(s) differ from the sample files' "
            "expectations:[/]",
            highlight=False,
        )
        for mismatch in report.mismatches:
            console.print(f"  - {escape(mismatch)}", highlight=False, soft_wrap=True)
        console.print(
            "[bold]next:[/] fix the core or the `expected` blocks of those samples; "
            "`.venv/bin/pytest tests/unit/test_samples.py` shows each difference.",
            highlight=False,
        )
        raise typer.Exit(code=1)


@schema_app.command("export")
def schema_export(
    directory: Annotated[
        Path, typer.Argument(help="Folder to write <name>.schema.json files into.")
    ],
) -> None:
    """Write one JSON Schema (draft 2020-12) per canonical entity into DIRECTORY."""
    try:
        result = export_schemas(directory)
    except ContractSyncError as error:
        raise _fail(error) from error
    table = Table(title=f"JSON Schemas in {directory}")
    table.add_column("file")
    table.add_column("status")
    for path in result.written:
        table.add_row(path.name, "written")
    for path in result.removed:
        table.add_row(path.name, "removed (no such entity any more)")
    Console().print(table)


def main() -> None:
    """Run the ``contractsync`` command line (the console-script entry point)."""
    app()
