"""The ``erp`` command group: provision and serve a local Tryton 8.2 as the real ERP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from contractsync.adapters.tryton.provisioning import provision
from contractsync.adapters.tryton.server import TrytonServer
from contractsync.adapters.tryton.site import DEFAULT_ROOT, TrytonSite
from contractsync.errors import ContractSyncError

erp_app = typer.Typer(
    help="Run a real ERP locally for the demo and the tests.", no_args_is_help=True
)
tryton_app = typer.Typer(
    help="Tryton 8.2: provision a database and serve it.", no_args_is_help=True
)
erp_app.add_typer(tryton_app, name="tryton")

_console = Console()

RootOption = Annotated[
    Path, typer.Option("--root", help="Folder of the local Tryton (config, logs, SQLite files).")
]
DatabaseOption = Annotated[str, typer.Option("--database", help="Tryton database name.")]
UrlOption = Annotated[
    str,
    typer.Option(
        "--database-url",
        help="sqlite:// (default) or a PostgreSQL server, postgresql://host:port/.",
    ),
]


def _fail(error: ContractSyncError) -> typer.Exit:
    _console.print(f"[red]{error.message}[/red]\n{error.remediation}")
    return typer.Exit(code=1)


@tryton_app.command("init")
def init(
    database_url: UrlOption = "sqlite://",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing database.")] = False,
    root: RootOption = DEFAULT_ROOT,
    database: DatabaseOption = "contractsync",
) -> None:
    """Create a Tryton database with a company, books and fiscal years, ready for the hub.

    The first run builds and caches a template (about 30 s on SQLite); later runs copy it.
    """
    try:
        site = TrytonSite(root, database, database_url)
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=_console, transient=True) as progress:
            task = progress.add_task("preparing", total=1.0)

            def on_progress(what: str, done: float) -> None:
                progress.update(task, description=what, completed=done)

            result = provision(site, force=force, on_progress=on_progress)
    except ContractSyncError as error:
        raise _fail(error) from error
    origin = "from the cached template" if result.from_cache else "built and cached"
    _console.print(f"Tryton database ready in {result.seconds:.1f} s ({origin}): {site.location}")
    _console.print(
        f"Log in as [bold]{result.user}[/bold] (password in {site.password_file}), "
        f"company id {result.company_id}."
    )
    serve_args = f"--root {site.root} --database {database}"
    if not site.is_sqlite:
        serve_args += f" --database-url {database_url}"
    _console.print(
        f"Serve it with: contractsync erp tryton serve {serve_args} --port 8000", soft_wrap=True
    )


@tryton_app.command("serve")
def serve(
    port: Annotated[int, typer.Option("--port", help="Loopback port to listen on.")] = 8000,
    root: RootOption = DEFAULT_ROOT,
    database: DatabaseOption = "contractsync",
    database_url: UrlOption = "sqlite://",
) -> None:
    """Serve a provisioned database on 127.0.0.1 until interrupted (Ctrl-C stops it cleanly)."""
    try:
        site = TrytonSite(root, database, database_url)
        server = TrytonServer(site, port).start()
    except ContractSyncError as error:
        raise _fail(error) from error
    except KeyboardInterrupt:
        # Ctrl-C while trytond was starting: start() has already stopped it.
        raise typer.Exit(code=0) from None
    # Ctrl-C may land as soon as the server answers, even while these lines print.
    try:
        _console.print(f"trytond serves {site.location} at {server.url}/{database}/rpc/")
        _console.print(f"User admin, password in {site.password_file}; log: {server.log_file}")
        code = server.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        server.stop()
    raise typer.Exit(code=code)
