import datetime as dt
from decimal import Decimal

import pytest

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.mapping import milestone_tasks
from contractsync.adapters.tryton.projects import ProjectIds, TrytonProjects
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money


@pytest.fixture
def project(records: TrytonRecords, projects: TrytonProjects, tag: str) -> ProjectIds:
    party = records.ensure_party(f"C-{tag}", f"Customer {tag}", country="DE")
    fee = records.ensure_product(f"FEE-{tag}", "Milestone fee", "u")
    tasks = [("M1", "Kick-off", Decimal("5000")), ("M2", "Go-live", Decimal("15000"))]
    return projects.ensure_project(f"P-{tag}", f"Contract {tag}", party, tasks, product=fee)


def test_ensure_project_twice_creates_one_project_with_one_task_per_milestone(
    records: TrytonRecords, projects: TrytonProjects, client: TrytonClient, tag: str
) -> None:
    party = records.ensure_party(f"C-{tag}", "Customer", country="DE")
    fee = records.ensure_product(f"FEE-{tag}", "Milestone fee", "u")
    milestones = [
        BillingMilestone(
            id="M1", name="Kick-off", amount=Money.of("5000", "EUR"), trigger="signed"
        ),
        BillingMilestone(id="M2", name="Go-live", amount=Money.of("15000", "EUR"), trigger="live"),
    ]
    tasks = milestone_tasks(milestones)
    first = projects.ensure_project(f"P-{tag}", "Contract", party, tasks, product=fee)
    second = projects.ensure_project(f"P-{tag}", "Contract", party, tasks, product=fee)
    assert first == second
    assert set(first.tasks) == {"M1", "M2"}
    assert client.search_count("project.work", [("parent", "child_of", [first.project])]) == 3
    rows = client.read("project.work", list(first.tasks.values()), ["list_price", "invoice_method"])
    assert sorted(r["list_price"] for r in rows) == [Decimal("5000"), Decimal("15000")]
    assert {r["invoice_method"] for r in rows} == {"effort"}


def test_ensure_project_adds_only_the_missing_milestone_task(
    projects: TrytonProjects, project: ProjectIds, client: TrytonClient, tag: str
) -> None:
    party = client.read("project.work", [project.project], ["party"])[0]["party"]
    fee = client.read("project.work", [project.tasks["M1"]], ["product"])[0]["product"]
    tasks = [
        ("M1", "Kick-off", Decimal("5000")),
        ("M2", "Go-live", Decimal("15000")),
        ("M3", "Hypercare", Decimal("2500")),
    ]
    grown = projects.ensure_project(f"P-{tag}", "Contract", party, tasks, product=fee)
    assert grown.project == project.project
    assert grown.tasks["M1"] == project.tasks["M1"]
    assert set(grown.tasks) == {"M1", "M2", "M3"}


def test_a_done_milestone_task_is_invoiced_once_at_its_fixed_amount(
    projects: TrytonProjects, project: ProjectIds, client: TrytonClient, tag: str
) -> None:
    assert projects.mark_task_done(f"P-{tag}", "M1") == project.tasks["M1"]
    assert projects.mark_task_done(f"P-{tag}", "M1") == project.tasks["M1"]
    invoices = projects.invoice_project(f"P-{tag}", post=True)
    assert len(invoices) == 1
    invoice = client.read("account.invoice", invoices, ["state", "untaxed_amount", "number"])[0]
    assert invoice["untaxed_amount"] == Decimal("5000.00")
    assert invoice["state"] == "posted"
    assert invoice["number"]
    assert projects.invoice_project(f"P-{tag}") == []
    assert projects.project_invoices(f"P-{tag}") == invoices


def test_a_timesheet_line_is_recorded_once_per_key(
    records: TrytonRecords,
    projects: TrytonProjects,
    project: ProjectIds,
    client: TrytonClient,
    tag: str,
) -> None:
    employee = records.ensure_employee(f"EMP-{tag}", "Ada Consultant", Decimal("60"))
    args = {
        "key": f"TE-{tag}",
        "employee": employee,
        "day": dt.date.today(),
        "hours": Decimal("3.5"),
    }
    first = projects.add_timesheet(f"P-{tag}", "M2", description="Workshop", **args)
    assert projects.add_timesheet(f"P-{tag}", "M2", description="Workshop", **args) == first
    line = client.read("timesheet.line", [first], ["duration", "work.origin", "description"])[0]
    assert line["duration"] == dt.timedelta(hours=3, minutes=30)
    assert line["work."]["origin"] == f"project.work,{project.tasks['M2']}"
    assert client.search_count("timesheet.line", [("description", "like", f"%TE-{tag}%")]) == 1
    cost = client.read("project.work", [project.tasks["M2"]], ["cost"])[0]["cost"]
    assert cost == Decimal("210.00")
