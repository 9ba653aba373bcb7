"""Rich rendering of exception items for the operator commands."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contractsync.domain.exception_item import ExceptionItem


def render_items(items: Sequence[ExceptionItem], console: Console) -> None:
    """Print one row per item: id, status, severity, owner, code, contract, money, SLA."""
    table = Table(title=f"Exception items ({len(items)})")
    for column in ("id", "status", "severity", "owner", "code", "contract", "at risk", "SLA due"):
        # Ids and codes are copied into the next command: never wrap them.
        table.add_column(column, no_wrap=column in {"id", "code"})
    for item in items:
        table.add_row(
            item.id,
            item.status.value,
            item.severity.value,
            item.owner.value + (f" ({item.assignee})" if item.assignee else ""),
            item.code,
            item.contract_id or "",
            _money(item),
            item.sla_due.strftime("%Y-%m-%d %H:%M UTC"),
        )
    console.print(table)


def _money(item: ExceptionItem) -> str:
    money = item.money_at_risk
    return "" if money is None else f"{money.amount:,} {money.currency}"


def render_item(item: ExceptionItem, console: Console) -> None:
    """Print one item's facts, evidence and history."""
    facts = Table(title=f"Exception item {item.id}", show_header=False)
    facts.add_column("field", style="bold")
    facts.add_column("value", overflow="fold")
    rows = {
        "status": item.status.value,
        "code": item.code,
        "message": item.message,
        "owner": item.owner.value,
        "assignee": item.assignee or "",
        "severity": item.severity.value,
        "money at risk": _money(item),
        "SLA due": item.sla_due.isoformat(),
        "contract": item.contract_id or "",
        "subject": "" if item.subject is None else str(item.subject),
        "remediation": item.remediation,
        "evidence": json.dumps(item.evidence, ensure_ascii=False, sort_keys=True),
        "raised": item.created_at.isoformat(),
    }
    for field, value in rows.items():
        facts.add_row(field, escape(value))
    console.print(facts)
    history = Table(title="History")
    for column in ("at", "actor", "action", "status", "note"):
        history.add_column(column)
    for step in item.history:
        history.add_row(
            step.at.isoformat(), step.actor, step.action, step.status.value, escape(step.note)
        )
    console.print(history)
