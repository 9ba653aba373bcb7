"""``contractsync reconcile``: compare CLM terms with the ERP, PSA and CRM; heal; report drift.

Exit codes: 0 when no drift is left unhealed and every system could be read; 1 otherwise
(drift left for an owner or reported by ``--no-heal``, a system unreadable, bad settings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from contractsync.bootstrap import Reconciliation, build_reconciliation
from contractsync.config import load_settings
from contractsync.domain.drift import DriftOutcome, ReconciliationReport, ReportLine
from contractsync.errors import ContractSyncError
from contractsync.services.scheduled_reconciliation import summarize

_ACTION_STYLE = {
    DriftOutcome.HEALED: "green",
    DriftOutcome.EXCEPTION: "yellow",
    DriftOutcome.REPORTED: "cyan",
}


def reconcile_command(
    contract: Annotated[
        list[str] | None,
        typer.Option("--contract", help="Reconcile only this contract id (repeatable)."),
    ] = None,
    no_heal: Annotated[
        bool,
        typer.Option("--no-heal", help="Write to no system: report healable drift only."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of tables.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Reconciliation policy file (default: the shipped one)."),
    ] = None,
) -> None:
    """Compare every CLM contract with the ERP, PSA and CRM; heal what policy allows.

    Unhealed drift becomes an ExceptionItem for its owner, with the money at risk.
    Exit code 0 when no drift is left unhealed and every system was read, 1 otherwise.
    """
    err = Console(stderr=True)
    try:
        job = build_reconciliation(load_settings(config), policy_file=policy)
    except ContractSyncError as error:
        err.print(f"[bold red]error[/] {escape(f'[{error.code}]')} {escape(error.message)}")
        err.print(f"[bold]next:[/] {escape(error.remediation)}", highlight=False)
        raise typer.Exit(code=1) from error
    try:
        code = run_reconciliation(
            job, contract_ids=contract or None, heal=not no_heal, as_json=as_json, err=err
        )
    finally:
        job.close()
    raise typer.Exit(code=code)


def run_reconciliation(
    job: Reconciliation,
    *,
    contract_ids: Sequence[str] | None,
    heal: bool,
    as_json: bool,
    out: Console | None = None,
    err: Console | None = None,
) -> int:
    """Run ``job`` with a progress bar on ``err``, print the report on ``out``; the exit code.

    The progress bar never mixes with ``--json`` output: it goes to stderr.
    """
    out = out or Console()
    err = err or Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("listing CLM contracts", total=None)

        def advance(done: int, total: int, contract_id: str) -> None:
            progress.update(task, total=total, completed=done, description=contract_id)

        report = job.run(contract_ids=contract_ids, on_progress=advance, heal=heal)
    if as_json:
        out.print_json(json.dumps(report_json(report, job.notes)))
    else:
        render_report(report, job.notes, out)
    return 0 if report.is_clean else 1


def _action(line: ReportLine) -> str:
    if line.outcome is DriftOutcome.EXCEPTION:
        owner = f" ({line.owner.value})" if line.owner else ""
        return f"exception {line.exception_id}{owner}"
    return line.outcome.value


def render_report(report: ReconciliationReport, notes: Sequence[str], console: Console) -> None:
    """Print the drift table, the failures and the summary with money at risk."""
    systems = ", ".join(f"{role.value.upper()} {name}" for role, name in report.systems.items())
    if report.lines:
        table = Table(title=f"Drift ({systems})", show_lines=False)
        for column in ("contract", "kind", "system", "field"):
            table.add_column(column, no_wrap=True)
        table.add_column("expected", overflow="fold", min_width=14)
        table.add_column("actual", overflow="fold", min_width=14)
        table.add_column("money at risk", justify="right", no_wrap=True)
        table.add_column("action", overflow="fold", min_width=10)
        for line in report.lines:
            item = line.item
            money = str(item.money_at_risk) if item.money_at_risk is not None else ""
            style = _ACTION_STYLE[line.outcome]
            table.add_row(
                *(escape(v) for v in (item.contract_id, item.kind.value, item.system, item.field)),
                escape(item.expected),
                escape(item.actual),
                money,
                f"[{style}]{escape(_action(line))}[/]",
            )
        console.print(table)
    else:
        console.print(f"[green]No drift[/] between {escape(systems)}.")
    if report.all_failures:
        failed = Table(title="Could not compare")
        for column in ("contract", "system", "error", "action"):
            failed.add_column(column, overflow="fold")
        for failure in report.all_failures:
            action = failure.exception_id or ("retried next run" if failure.is_transient else "")
            failed.add_row(
                escape(failure.contract_id or "-"),
                escape(f"{failure.role.value.upper()} {failure.system}"),
                escape(f"[{failure.code}] {failure.message}"),
                escape(action),
            )
        console.print(failed)
    _render_summary(report, notes, console)


def _render_summary(report: ReconciliationReport, notes: Sequence[str], console: Console) -> None:
    summary = summary_of(report)
    counts = summary["outcomes"]
    console.print(
        f"[bold]{summary['contracts']}[/] contracts compared, [bold]{summary['drift']}[/] drift "
        f"items: [green]{counts['healed']} healed[/], [yellow]{counts['exception']} raised[/], "
        f"[cyan]{counts['reported']} reported[/]; "
        f"{_plural(len(report.all_failures), 'system failure')}"
        + ("" if report.healing else " (--no-heal: nothing was written)"),
        highlight=False,
    )
    found, left = summary["money_at_risk"], summary["unhealed_money_at_risk"]
    if found:
        console.print(
            "Money at risk: "
            + ", ".join(
                f"{amount} {cur} (left {left.get(cur, '0')})" for cur, amount in found.items()
            ),
            highlight=False,
        )
    if summary["counts_by_kind"]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in summary["counts_by_kind"].items())
        console.print(f"By kind: {kinds}", highlight=False)
    for note in [*report.notes, *notes]:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    verdict = "[green]clean[/]" if report.is_clean else "[red]drift left: exit 1[/]"
    console.print(verdict)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_of(report: ReconciliationReport) -> dict[str, Any]:
    """The totals of ``report``: counts per outcome and kind, money at risk per currency.

    The same totals a scheduled run records (``services.scheduled_reconciliation``).
    """
    return summarize(report)


def report_json(report: ReconciliationReport, notes: Sequence[str]) -> dict[str, Any]:
    """The report as one JSON document: summary, per-contract lines, failures, notes.

    ``notes`` are the run's (a CLM version the hub rejected, and what was compared
    instead; also under each contract), ``not_compared`` what the settings leave out.
    """
    return {
        "summary": summary_of(report),
        **report.model_dump(mode="json"),
        "notes": report.notes,
        "not_compared": list(notes),
    }


__all__ = ["reconcile_command", "render_report", "report_json", "run_reconciliation", "summary_of"]
