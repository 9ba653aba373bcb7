"""``contractsync check``: the settings, then every database, bus, webhook key and system, at once."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from contractsync.adapters.health import HealthCheck
from contractsync.bootstrap import build_checks
from contractsync.config import DEFAULT_CONFIG_FILE, load_settings
from contractsync.errors import ContractSyncError

DEFAULT_TIMEOUT_SECONDS = 15.0
"""How long each check may take before it counts as failed."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the report.

    Attributes:
        name: What was checked.
        ok: Whether it passed.
        latency_ms: How long it took (the probe's own measure when it gives one).
        detail: What was seen; never a secret.
        next_step: What to do about a failure; empty when it passed.
    """

    name: str
    ok: bool
    latency_ms: float | None
    detail: str
    next_step: str = ""


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def run_check(check: HealthCheck) -> CheckResult:
    """Run one check; a raised ContractSyncError is a failed row with its remediation.

    Args:
        check: The check.

    Returns:
        Its result; never raises.
    """
    started = time.perf_counter()
    try:
        health = check.probe()
    except ContractSyncError as error:
        return CheckResult(
            check.name, False, _elapsed_ms(started), error.message, error.remediation
        )
    # A probe that crashes must give a failed row, not end the report; only the type is
    # shown because a foreign library's message may quote a URL or header with a secret.
    except Exception as error:  # noqa: BLE001 - reported as a failed row
        return CheckResult(
            check.name,
            False,
            _elapsed_ms(started),
            f"the check failed unexpectedly ({type(error).__name__})",
            "Run it again; if it persists, report it with this output.",
        )
    detail = f"{health.version}; {health.detail}" if health.version else health.detail
    latency = health.latency_ms if health.latency_ms is not None else _elapsed_ms(started)
    return CheckResult(check.name, health.ok, latency, detail, "" if health.ok else check.next_step)


def run_checks(
    checks: Sequence[HealthCheck],
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    on_result: Callable[[CheckResult], None] = lambda _: None,
) -> list[CheckResult]:
    """Run every check in its own thread, each allowed ``timeout`` seconds.

    Threads are daemons: a check stuck past its timeout is reported as failed and left
    behind, so it cannot keep the command from exiting.

    Args:
        checks: The checks.
        timeout: Seconds each check may take (they all start together).
        on_result: Called with each result as it arrives (a progress bar).

    Returns:
        One result per check, in the order of ``checks``.
    """
    finished: queue.Queue[tuple[int, CheckResult]] = queue.Queue()
    for index, check in enumerate(checks):
        threading.Thread(
            target=lambda i=index, c=check: finished.put((i, run_check(c))),
            name=f"check-{check.name}",
            daemon=True,
        ).start()
    results: dict[int, CheckResult] = {}
    deadline = time.monotonic() + timeout
    while len(results) < len(checks):
        try:
            index, result = finished.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        results[index] = result
        on_result(result)
    for index, check in enumerate(checks):
        if index not in results:
            results[index] = CheckResult(
                check.name,
                False,
                round(timeout * 1000, 1),
                f"no answer within {timeout:g} s",
                "Check that the address is reachable from this host (firewall, DNS), or "
                "raise --timeout.",
            )
            on_result(results[index])
    return [results[index] for index in range(len(checks))]


def render(results: Sequence[CheckResult], console: Console) -> None:
    """Print the results as one table: check, status, latency, detail, next step."""
    table = Table(title="contractsync check", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("latency", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("next", overflow="fold")
    for result in results:
        table.add_row(
            escape(result.name),
            "[green]ok[/]" if result.ok else "[bold red]fail[/]",
            "" if result.latency_ms is None else f"{result.latency_ms:.0f} ms",
            escape(result.detail),
            escape(result.next_step),
        )
    console.print(table)
    failed = sum(not r.ok for r in results)
    summary = "[green]all checks passed[/]" if not failed else f"[bold red]{failed} failed[/]"
    console.print(f"{summary} ({len(results)} check(s))", highlight=False)


def _settings_result(config: Path | None) -> tuple[CheckResult, list[HealthCheck]]:
    started = time.perf_counter()
    try:
        settings = load_settings(config)
        checks = build_checks(settings)
    except ContractSyncError as error:
        failed = CheckResult(
            "settings", False, _elapsed_ms(started), error.message, error.remediation
        )
        return failed, []
    source = config or (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    where = f"{source} and the environment" if source else "defaults and the environment"
    return CheckResult("settings", True, _elapsed_ms(started), f"valid ({where})"), checks


def check_command(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default: ./contractsync.yaml if present)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of a table.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds each check may take.")
    ] = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Check the settings and every configured database, bus, webhook key and system.

    Exits 0 when every check passes, 1 otherwise. Secrets are never printed.
    """
    settings_result, checks = _settings_result(config)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
        disable=as_json or not checks,
    )
    with progress:
        task = progress.add_task("", total=len(checks))

        def advance(result: CheckResult) -> None:
            progress.update(task, advance=1, description=escape(result.name))

        results = [settings_result, *run_checks(checks, timeout=timeout, on_result=advance)]
    is_ok = all(r.ok for r in results)
    if as_json:
        typer.echo(json.dumps({"ok": is_ok, "checks": [asdict(r) for r in results]}, indent=2))
    else:
        render(results, Console())
    if not is_ok:
        raise typer.Exit(code=1)


__all__ = ["CheckResult", "check_command", "render", "run_check", "run_checks"]
