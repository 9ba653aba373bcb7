"""Idempotent Tryton projects: one task per milestone, milestone invoicing and timesheets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.mapping import (
    Task,
    like_suffix,
    record_key,
    timesheet_description,
)
from contractsync.errors import DataError


class InvoiceMethod(StrEnum):
    """How Tryton invoices a project (``project.work.project_invoice_method``)."""

    MANUAL = "manual"
    EFFORT = "effort"  # a done task (progress 1) is invoiced at its fixed price: milestones
    PROGRESS = "progress"
    TIMESHEET = "timesheet"


@dataclass(frozen=True)
class ProjectIds:
    """Tryton ids of a project and of its tasks, by task code."""

    project: int
    tasks: Mapping[str, int]


class TrytonProjects:
    """Projects and their tasks, keyed by hub codes kept in ``project.work.comment``.

    Tryton's only unique project key (``number``) is read-only over RPC, so a project is
    found by the exact marker ``contractsync:project:<code>`` in its comment and a task by
    ``contractsync:task:<code>`` under its project (ADR 0002). Every method is safe to call
    twice: a second call finds what the first made and creates nothing.

    Args:
        client: A logged-in (or lazily logging-in) Tryton client.
    """

    def __init__(self, client: TrytonClient) -> None:
        self.client = client

    def _find(self, domain: list[Any], what: str) -> int | None:
        ids = self.client.search("project.work", domain, limit=2)
        if len(ids) > 1:
            raise DataError(
                f"Two Tryton works carry the key of {what}.",
                code="tryton.duplicate_key",
                detail={"ids": ids},
            )
        return ids[0] if ids else None

    def project_id(self, code: str) -> int:
        """Return the id of the project with hub code ``code``.

        Raises:
            DataError: if there is no such project.
        """
        domain = [("type", "=", "project"), ("comment", "=", record_key("project", code))]
        found = self._find(domain, f"project {code}")
        if found is None:
            raise DataError(f"Tryton has no project {code}.", code="tryton.unknown_project")
        return found

    def task_id(self, project_code: str, task_code: str) -> int:
        """Return the id of task ``task_code`` of project ``project_code``.

        Raises:
            DataError: if the project or the task does not exist.
        """
        project = self.project_id(project_code)
        domain = [("parent", "=", project), ("comment", "=", record_key("task", task_code))]
        found = self._find(domain, f"task {project_code}/{task_code}")
        if found is None:
            raise DataError(
                f"Tryton project {project_code} has no task {task_code}.",
                code="tryton.unknown_task",
            )
        return found

    def _task_values(self, task: Task, product: int) -> dict[str, Any]:
        code, name, amount = task
        return {
            "name": name,
            "type": "task",
            "company": self.client.company_id,
            "comment": record_key("task", code),
            "product": product,
            # RPC creates skip Tryton's on_change logic, so the price is sent explicitly.
            "list_price": Decimal(amount),
            "timesheet_available": True,
        }

    def ensure_project(
        self,
        code: str,
        name: str,
        party: int,
        tasks: Sequence[Task],
        invoice_method: InvoiceMethod = InvoiceMethod.EFFORT,
        *,
        product: int,
    ) -> ProjectIds:
        """Return the project with hub code ``code``, creating it and any missing task.

        Args:
            code: Hub code of the project (e.g. the contract id).
            name: Project name.
            party: Tryton id of the customer party.
            tasks: One (code, name, amount) per billing milestone.
            invoice_method: How Tryton invoices it; ``effort`` bills each done task once.
            product: Tryton id of the service product the tasks are invoiced with.

        Returns:
            The project id and the task ids by code. Existing records are not modified;
            tasks missing from an existing project are added.
        """
        key = record_key("project", code)
        found = self._find([("type", "=", "project"), ("comment", "=", key)], f"project {code}")
        if found is None:
            values = {
                "name": name,
                "type": "project",
                "company": self.client.company_id,
                "party": party,
                "comment": key,
                "project_invoice_method": str(invoice_method),
                "children": [["create", [self._task_values(t, product) for t in tasks]]],
            }
            found = self.client.create("project.work", [values])[0]
        else:
            existing = self._tasks(found)
            missing = [t for t in tasks if t[0] not in existing]
            if missing:
                self.client.create(
                    "project.work",
                    [{**self._task_values(t, product), "parent": found} for t in missing],
                )
        return ProjectIds(project=found, tasks=self._tasks(found))

    def _tasks(self, project: int) -> dict[str, int]:
        rows = self.client.search_read("project.work", [("parent", "=", project)], ["comment"])
        prefix = record_key("task", "")
        return {
            str(r["comment"])[len(prefix) :]: int(r["id"])
            for r in rows
            if str(r["comment"] or "").startswith(prefix)
        }

    def mark_task_done(self, project_code: str, task_code: str) -> int:
        """Set the task's progress to 100 % (billing-ready under ``effort``); return its id."""
        task = self.task_id(project_code, task_code)
        row = self.client.read("project.work", [task], ["progress"])[0]
        if row["progress"] != 1:
            self.client.write("project.work", [task], {"progress": 1.0})
        return task

    def project_invoices(self, project_code: str) -> list[int]:
        """Return the ids of every invoice holding a line of the project, sorted."""
        project = self.project_id(project_code)
        works = self.client.search_read(
            "project.work",
            [("parent", "child_of", [project])],
            ["invoice_line", "invoiced_progress.invoice_line", "timesheet_works"],
        )
        lines = {w["invoice_line"] for w in works if w["invoice_line"]}
        for work in works:
            lines |= {p["invoice_line"] for p in work.get("invoiced_progress.") or []}
        ts_works = [i for w in works for i in w["timesheet_works"]]
        if ts_works:
            rows = self.client.search_read(
                "timesheet.line",
                [("work", "in", ts_works), ("invoice_line", "!=", None)],
                ["invoice_line"],
            )
            lines |= {r["invoice_line"] for r in rows}
        lines.discard(None)
        if not lines:
            return []
        rows = self.client.read("account.invoice.line", sorted(lines), ["invoice"])
        return sorted({int(r["invoice"]) for r in rows if r["invoice"]})

    def invoice_project(self, project_code: str, *, post: bool = False) -> list[int]:
        """Invoice whatever the project has ready; return the ids of the invoices created.

        A second call finds nothing left to invoice and returns ``[]``. With ``post`` the
        new invoices are posted (numbered), which Tryton allows only in date order.
        """
        project = self.project_id(project_code)
        # Tryton refuses the invoice button on a project with nothing left to invoice.
        due = self.client.read("project.work", [project], ["amount_to_invoice"])[0]
        if not due["amount_to_invoice"]:
            return []
        before = set(self.project_invoices(project_code))
        self.client.execute("project.work", "invoice", [project])
        created = sorted(set(self.project_invoices(project_code)) - before)
        if post and created:
            self.client.execute("account.invoice", "post", created)
        return created

    def add_timesheet(
        self,
        project_code: str,
        task_code: str,
        *,
        key: str,
        employee: int,
        day: date,
        hours: Decimal,
        description: str = "",
    ) -> int:
        """Record time on a task once per ``key`` (e.g. the PSA time entry id); return its id.

        Raises:
            DataError: if the task is unknown or not open for timesheets.
        """
        pattern = like_suffix(key)
        found = self.client.search("timesheet.line", [("description", "like", pattern)], limit=2)
        if found:
            return found[0]
        task = self.task_id(project_code, task_code)
        ts_works = self.client.read("project.work", [task], ["timesheet_works"])[0]
        if not ts_works["timesheet_works"]:
            raise DataError(
                f"Task {task_code} of project {project_code} takes no timesheets.",
                code="tryton.no_timesheet_work",
            )
        values = {
            "company": self.client.company_id,
            "employee": employee,
            "work": ts_works["timesheet_works"][0],
            "date": day,
            "duration": timedelta(hours=float(hours)),
            "description": timesheet_description(description, key),
        }
        return self.client.create("timesheet.line", [values])[0]
