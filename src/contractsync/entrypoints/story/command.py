"""``contractsync demo``: the whole contract-to-cash story on this machine, with a summary at the end.

Progress goes to stderr (so ``--json`` stays parseable); the hub's and the engine's logs go to
``<workdir>/hub.log``. With ``--keep-running`` everything stays up after the summary, with the
API's URL, the keys and the settings file printed so the user can explore with the CLI or curl.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from contractsync.entrypoints.story.cast import cast
from contractsync.entrypoints.story.outcome import DemoOutcome, play_demo, summary
from contractsync.entrypoints.story.script import Story
from contractsync.entrypoints.story.stack import DemoStack
from contractsync.errors import ContractSyncError

DEFAULT_WORKDIR = Path(".contractsync") / "demo"
MARKER = ".contractsync-demo"
"""The file that marks a folder as the demo's own, so a rerun may empty it."""


def demo_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON document.")
    ] = False,
    keep_running: Annotated[
        bool,
        typer.Option(
            "--keep-running", help="Leave Tryton, the simulators and the hub up until Ctrl-C."
        ),
    ] = False,
    workdir: Annotated[
        Path,
        typer.Option("--workdir", help="Where the databases, settings, secrets and logs go."),
    ] = DEFAULT_WORKDIR,
    port: Annotated[
        int,
        typer.Option("--port", min=0, max=65535, help="The hub API's port (0: any free one)."),
    ] = 8080,
) -> None:
    """Run the contract-to-cash story on this machine, then reconcile and summarise.

    26 contracts go through Salesforce, Ironclad, DocuSign and Kantata (simulated on
    loopback) and a real Tryton ERP, with faults injected on the way.
    """
    err = Console(stderr=True)
    workdir = workdir.resolve()  # the settings file names its secrets by absolute path
    try:
        prepare_workdir(workdir)
    except ContractSyncError as error:
        err.print(
            f"[bold red]error[/] {escape(error.message)}\n[bold]next:[/] {escape(error.remediation)}"
        )
        raise typer.Exit(code=1) from error
    _log_to(workdir / "hub.log")
    stack: DemoStack | None = None
    try:
        with _Steps(err) as steps:
            stack = DemoStack(workdir, api_port=port, on_progress=steps.starting).start()
            outcome = play_demo(stack, cast(), on_act=steps.act)
    except ContractSyncError as error:
        if stack is not None:
            stack.stop()
        err.print(f"[bold red]error[/] {escape(f'[{error.code}]')} {escape(error.message)}")
        err.print(f"[bold]next:[/] {escape(error.remediation)} (log: {workdir / 'hub.log'})")
        raise typer.Exit(code=1) from error
    except BaseException:
        if stack is not None:
            stack.stop()
        raise
    figures = summary(outcome) | {"api_url": stack.api_url, "workdir": str(workdir)}
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
    else:
        render(outcome, figures, Console())
    _finish(stack, keep_running, err)
    if outcome.mismatches:
        raise typer.Exit(code=1)


def render(outcome: DemoOutcome, figures: dict[str, Any], console: Console) -> None:
    """Print the summary table, the drift reconciliation found and where things are."""
    table = Table(title="contractsync demo: what happened", show_header=True)
    table.add_column("", style="bold")
    table.add_column("result")
    c, p, i, a, w = (
        figures[k] for k in ("contracts", "projects", "invoices", "amendments", "webhooks")
    )
    table.add_row(
        "contracts",
        f"{c['total']}: {c['active']} active, {c['terminated']} terminated, {c['renewed']} renewed; "
        f"{c['won_in_crm']} won in Salesforce first, {c['signed_in_docusign']} signed in DocuSign",
    )
    table.add_row("projects", f"{p['erp']} in Tryton, {p['psa']} in Kantata")
    table.add_row("invoices", f"{i['count']} in Tryton, {i['total_eur']} EUR")
    table.add_row(
        "amendments",
        f"{a['approved_in_clm']} approved in Ironclad: {a['applied_automatically']} applied by "
        f"policy, {a['routed']} routed to finance ({a['approved_by_finance']} approved, "
        f"{a['rejected_by_finance']} rejected through the API)",
    )
    owners = ", ".join(f"{owner} {n}" for owner, n in figures["exceptions_by_owner"].items())
    table.add_row("exceptions", f"{owners or 'none'}; {figures['open_exceptions']} open")
    table.add_row(
        "webhooks",
        f"{w['accepted']} accepted, {w['stored_once']} distinct events, "
        f"{w['duplicates_suppressed']} duplicates suppressed",
    )
    faults = ", ".join(f"{k} {n}" for k, n in figures["faults_injected"].items())
    table.add_row("faults injected", faults or "none")
    drift = figures["reconciliation"]["drift"]
    table.add_row(
        "reconciliation",
        f"{figures['reconciliation']['contracts']} contracts compared, {len(drift)} drift item(s)",
    )
    verdict = (
        "[green]every system matches the contracts[/]"
        if not outcome.mismatches
        else (f"[red]{len(outcome.mismatches)} difference(s)[/]")
    )
    table.add_row("systems", verdict)
    table.add_row("time", f"{figures['story_seconds']} s for the story")
    console.print(table)
    if drift:
        found = Table(title="Drift reconciliation found (expected: the hand edit in Tryton)")
        found.add_column("contract", no_wrap=True)
        found.add_column("drift", overflow="fold")
        found.add_column("contract says → system holds", overflow="fold")
        found.add_column("at risk", justify="right", no_wrap=True)
        found.add_column("action", overflow="fold")
        for line in drift:
            action = line["outcome"] + (f" ({line['owner']})" if line["owner"] else "")
            found.add_row(
                line["contract_id"],
                f"{line['kind']} {line['field']}",
                f"{line['expected']} → {line['actual']}",
                line["money_at_risk"] or "",
                action,
            )
        console.print(found)
    for mismatch in outcome.mismatches:
        console.print(f"[red]difference:[/] {escape(mismatch)}", highlight=False)
    console.print(f"API: {figures['api_url']}/docs  (OpenAPI at {figures['api_url']}/openapi.json)")


def _finish(stack: DemoStack, keep_running: bool, err: Console) -> None:
    if not keep_running:
        stack.stop()
        return
    assert stack.keys is not None
    assert stack.sims is not None
    assert stack.config_path is not None
    err.print(
        f"\nEverything stays up. Hub API: {stack.api_url} (admin key: {stack.keys.api_key})\n"
        f"Try: curl -H 'Authorization: Bearer {stack.keys.api_key}' {stack.api_url}/api/v1/contracts\n"
        f"     contractsync exceptions list --config {stack.config_path}\n"
        f"     contractsync reconcile --config {stack.config_path}\n"
        + "".join(f"Simulator {name}: {url}/_sim\n" for name, url in stack.sims.urls.items())
        + "Ctrl-C stops everything.",
        highlight=False,
        soft_wrap=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    stack.stop()


class _Steps:
    """Progress on stderr: bars on a terminal, one timestamped line per step elsewhere (CI logs)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._started = time.monotonic()
        self._last = ""
        self._progress: Progress | None = None
        if console.is_terminal:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            self._progress = Progress(
                *columns, TimeElapsedColumn(), console=console, transient=True
            )
            self._start = self._progress.add_task("starting", total=100)
            self._acts = self._progress.add_task("the story", total=len(Story.ACTS) + 2)

    def __enter__(self) -> _Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def starting(self, what: str, done: float) -> None:
        """Start-up: ``what`` is starting, ``done`` of it is done."""
        if self._progress is not None:
            self._progress.update(self._start, description=what, completed=round(100 * done))
        elif what != self._last:
            self._line(f"{what} ({done:.0%})")
        self._last = what

    def act(self, name: str) -> None:
        """The story: act ``name`` begins."""
        if self._progress is not None:
            self._progress.update(self._acts, description=name, advance=1)
        else:
            self._line(name)

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self._started
        self._console.print(f"[{elapsed:6.1f} s] {escape(text)}", highlight=False)


def prepare_workdir(workdir: Path) -> None:
    """Empty ``workdir`` for a new run, but only if it is a demo's own folder (or new)."""
    marker = workdir / MARKER
    if workdir.exists() and any(workdir.iterdir()) and not marker.exists():
        raise ContractSyncError(
            f"{workdir} is not empty and is not a demo folder",
            code="demo.workdir_taken",
            remediation="Pick an empty or new folder with --workdir.",
        )
    shutil.rmtree(workdir, ignore_errors=True)  # every run starts from nothing
    workdir.mkdir(parents=True)
    marker.write_text("made by `contractsync demo`; emptied by its next run\n", encoding="utf-8")


def _log_to(path: Path) -> None:
    """Send the hub's and the engine's logs to ``path`` instead of the terminal."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # The engine adds its own console handler unless its logger already has one.
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    engine = logging.getLogger("dbos")
    engine.addHandler(handler)
    engine.propagate = False


__all__ = ["DEFAULT_WORKDIR", "MARKER", "demo_command", "prepare_workdir", "render"]
