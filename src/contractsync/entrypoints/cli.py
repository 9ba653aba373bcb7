"""The ``contractsync`` command line: the demo and the canonical JSON Schema export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contractsync.entrypoints.schema_export import export_schemas
from contractsync.errors import ContractSyncError

app = typer.Typer(
    name="contractsync",
    help="contractsync: keep CLM, CRM, PSA and ERP in step through one canonical contract model.",
    no_args_is_help=True,
    add_completion=False,
)
schema_app = typer.Typer(help="The canonical model's JSON Schemas.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


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
