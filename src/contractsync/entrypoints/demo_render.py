"""Shows a demo report: Rich panels and tables for people, one JSON document for programs."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from contractsync.domain.decision import PolicyDecision
from contractsync.domain.money import Money
from contractsync.domain.roles import Severity
from contractsync.domain.schedules import BillingSchedule, RevenueSchedule
from contractsync.entrypoints.demo import AmendmentRun, ContractRun, DemoReport, StepError

_SEVERITY_STYLE = {
    Severity.LOW: "dim",
    Severity.MEDIUM: "yellow",
    Severity.HIGH: "red",
    Severity.CRITICAL: "bold red",
}


def money_text(money: Money | None) -> str:
    """Format an amount with thousands separators and its currency (``504,000.00 USD``)."""
    return "-" if money is None else f"{money.amount:,} {money.currency}"


def render_report(report: DemoReport, console: Console) -> None:
    """Print one panel per contract, then the summary table."""
    for run in report.contracts:
        console.print(_contract_panel(run, report))
    console.print(_summary_table(report))
    console.print(
        "bill, rev: the billing or revenue schedule ✓ adds up to the contract value, "
        "✗ was refused.",
        style="dim",
        highlight=False,
    )
    console.print(_summary_line(report), highlight=False)


def _contract_panel(run: ContractRun, report: DemoReport) -> Panel:
    contract, customer = run.contract, run.customer
    where = customer.billing_region or customer.billing_country
    header = Text.assemble(
        (customer.legal_name, "bold"),
        f" ({where}) · legal entity {contract.legal_entity_code} · {contract.currency} · ",
        f"{contract.tax_treatment or 'no tax treatment'} · {contract.term.start} to ",
        f"{contract.term.end} · value ",
        (money_text(run.value), "bold"),
    )
    parts: list[RenderableType] = [header, _findings(run)]
    parts.append(
        _billing(run.billing) if run.billing else _step_error("Billing schedule", run.billing_error)
    )
    parts.append(
        _revenue(run.revenue) if run.revenue else _step_error("Revenue", run.revenue_error)
    )
    parts.extend(_amendment(amendment, report) for amendment in run.amendments)
    if run.mismatches:
        parts.append(
            Text("Differs from the sample's expectations: " + "; ".join(run.mismatches), "bold red")
        )
    return Panel(
        Group(*parts),
        title=f"[bold]{escape(contract.id)}[/] · {escape(contract.title)}",
        subtitle=escape(run.name),
        border_style="red" if run.is_blocked else "green",
    )


def _findings(run: ContractRun) -> RenderableType:
    if not run.findings:
        return Text("✓ No findings: ready to activate", "green")
    table = Table(title="Findings", title_justify="left", expand=True)
    table.add_column("severity")
    table.add_column("code", no_wrap=True)
    table.add_column("owner")
    table.add_column("message and next step", ratio=1)
    for finding in run.findings:
        table.add_row(
            Text(finding.severity, _SEVERITY_STYLE[finding.severity]),
            finding.code,
            finding.owner,
            f"{finding.message}\n→ {finding.remediation}",
        )
    return table


def _step_error(step: str, error: StepError | None) -> RenderableType:
    if error is None:
        return Text(f"{step}: not computed")
    return Text.assemble(
        (f"{step}: refused ", "bold red"), f"[{error.code}] {error.message} → {error.remediation}"
    )


def _billing(schedule: BillingSchedule) -> RenderableType:
    table = Table(title="Billing schedule", title_justify="left", expand=True)
    table.add_column("invoice", no_wrap=True)
    table.add_column("due", no_wrap=True)
    table.add_column("line")
    table.add_column("description", ratio=1)
    table.add_column("amount", justify="right", no_wrap=True)
    for entry in schedule.entries:
        table.add_row(
            str(entry.invoice_date),
            str(entry.due_date),
            entry.line_id,
            entry.description,
            money_text(entry.amount),
        )
    table.add_row("", "", "", Text("total", "bold"), Text(money_text(schedule.total), "bold"))
    return table


def _revenue(schedule: RevenueSchedule) -> RenderableType:
    table = Table(title="Revenue by month", title_justify="left")
    table.add_column("month", no_wrap=True)
    table.add_column("revenue", justify="right", no_wrap=True)
    for month, amount in schedule.by_month().items():
        table.add_row(f"{month:%Y-%m}", money_text(amount))
    table.add_row(Text("total", "bold"), Text(money_text(schedule.total), "bold"))
    return table


def _amendment(run: AmendmentRun, report: DemoReport) -> RenderableType:
    amendment = run.amendment
    heading = Text.assemble(
        (f"Amendment {amendment.sequence} · {amendment.id}", "bold cyan"),
        f" · effective {amendment.effective_date} · {amendment.title}",
    )
    if run.plan is None or run.decision is None:
        return Group(heading, _step_error("Plan", run.error))
    table = Table(title="Plan", title_justify="left", expand=True)
    table.add_column("#", justify="right")
    table.add_column("change", no_wrap=True)
    table.add_column("what changes", ratio=1)
    table.add_column("state", no_wrap=True)
    table.add_column("money delta", justify="right", no_wrap=True)
    for index, operation in enumerate(run.plan.operations, start=1):
        table.add_row(
            str(index),
            operation.kind,
            operation.summary,
            operation.state,
            money_text(operation.money_delta),
        )
    impact = run.plan.impact
    lines: list[RenderableType] = [heading, table]
    lines.append(
        Text(
            f"Value {money_text(impact.value_before)} → {money_text(impact.value_after)} "
            f"({impact.delta_pct:+.2f} %)"
        )
    )
    for conflict in run.plan.conflicts:
        lines.append(Text(f"⚠ conflict [{conflict.code}] {conflict.message}", "yellow"))
    lines.append(_decision(run, run.decision, report))
    return Group(*lines)


def _decision(run: AmendmentRun, decision: PolicyDecision, report: DemoReport) -> Text:
    verdict = f"ROUTE to {decision.owner}" if decision.is_routed else "AUTO-APPLY"
    check = ("  ✗ " + "; ".join(run.mismatches), "bold red") if run.mismatches else ("  ✓", "green")
    return Text.assemble(
        ("→ ", "bold"),
        (verdict, "bold magenta" if decision.is_routed else "bold green"),
        f" by rule {decision.rule_id} (policy {report.policy_name} "
        f"{decision.policy_version}): {decision.reason}",
        check,
    )


def _summary_table(report: DemoReport) -> Table:
    table = Table(title="Summary")
    table.add_column("contract", no_wrap=True)
    table.add_column("findings")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("bill", justify="center")
    table.add_column("rev", justify="center")
    table.add_column("amendments")
    table.add_column("ok", justify="center", no_wrap=True)
    for run in report.contracts:
        decisions = ", ".join(
            "error" if a.decision is None else (a.decision.owner or "auto") for a in run.amendments
        )
        fine = not run.mismatches and not any(a.mismatches for a in run.amendments)
        table.add_row(
            run.contract.id,
            _findings_cell(run),
            money_text(run.value),
            _total_cell(run.billing, run.value),
            _total_cell(run.revenue, run.value),
            decisions or "-",
            Text("✓", "green") if fine else Text("✗", "bold red"),
        )
    return table


def _findings_cell(run: ContractRun) -> Text:
    blocking = sum(1 for finding in run.findings if finding.is_blocking)
    notes = len(run.findings) - blocking
    if blocking:
        return Text(f"{blocking} blocking", "red")
    return Text(f"{notes} note{'s' if notes > 1 else ''}", "dim") if notes else Text("none")


def _total_cell(schedule: BillingSchedule | RevenueSchedule | None, value: Money | None) -> Text:
    # A schedule normally adds up to the contract value: a tick says so, an amount shows a gap.
    if schedule is None:
        return Text("✗", "bold red")
    if value is not None and schedule.total == value:
        return Text("✓", "green")
    return Text(money_text(schedule.total), "yellow")


def _summary_line(report: DemoReport) -> str:
    counts = report.decision_counts()
    routed = {
        key.removeprefix("route:"): n for key, n in sorted(counts.items()) if key != "auto_apply"
    }
    blocked = sum(1 for run in report.contracts if run.is_blocked)
    return (
        f"{len(report.contracts)} contracts ({blocked} blocked by findings), "
        f"{len(report.amendment_runs)} amendments: {counts['auto_apply']} auto-applied, "
        f"{sum(routed.values())} routed ({', '.join(f'{k} {n}' for k, n in routed.items())}); "
        f"policy {report.policy_name} {report.policy_version}."
    )


def report_json(report: DemoReport) -> dict[str, Any]:
    """Return the report as JSON-ready data; amounts are strings, never floats."""
    return {
        "examples": report.examples,
        "policy": {"name": report.policy_name, "version": report.policy_version},
        "contracts": [_contract_json(run) for run in report.contracts],
        "summary": {
            "contracts": len(report.contracts),
            "blocked": sum(1 for run in report.contracts if run.is_blocked),
            "amendments": len(report.amendment_runs),
            "decisions": dict(sorted(report.decision_counts().items())),
            "mismatches": report.mismatches,
            "all_as_expected": not report.mismatches,
        },
    }


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


def _contract_json(run: ContractRun) -> dict[str, Any]:
    contract, customer = run.contract, run.customer
    # Errors, findings, expectations and amendments (with plan and decision) as they are.
    data: dict[str, Any] = run.model_dump(
        mode="json", exclude={"contract", "customer", "value", "billing", "revenue"}
    )
    data |= {
        "contract_id": contract.id,
        "title": contract.title,
        "customer": customer.model_dump(
            mode="json", include={"id", "legal_name", "billing_country", "billing_region"}
        ),
        "legal_entity": contract.legal_entity_code,
        "currency": contract.currency,
        "tax_treatment": contract.tax_treatment,
        "term": _dump(contract.term),
        "value": None if run.value is None else str(run.value.amount),
        "blocked": run.is_blocked,
        "billing": None
        if run.billing is None
        else {
            "total": str(run.billing.total.amount),
            "entries": [_dump(entry) for entry in run.billing.entries],
        },
        "revenue": None
        if run.revenue is None
        else {
            "total": str(run.revenue.total.amount),
            "by_month": {
                f"{month:%Y-%m}": str(amount.amount)
                for month, amount in run.revenue.by_month().items()
            },
        },
    }
    return data
