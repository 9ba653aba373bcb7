"""Closing a terminated contract's project in a real Tryton: once, without billing anything."""

from __future__ import annotations

import pytest

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.errors import DataError
from tests.adapters.tryton.samples import Samples


def opened(gateway: TrytonFinancialSystem, tag: str) -> int:
    gateway.upsert_customer(Samples.customer(tag), legal_entity=Samples.entity)
    ref = gateway.upsert_project(Samples.project(tag), Samples.contract(tag))
    return int(ref.id)


def status_of(client: TrytonClient, work: int) -> str:
    row = client.read("project.work", [work], ["status.name", "_timestamp"])[0]
    return f"{row['status.']['name']}@{row['_timestamp']}"


def test_closing_a_project_sets_the_closed_status_once_and_bills_no_open_milestone(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project = opened(gateway, tag)
    assert status_of(client, project).startswith("Open@")
    assert not gateway.snapshot(f"K-{tag}").project_closed

    ref = gateway.close_project(Samples.project(tag))
    closed = status_of(client, project)
    assert gateway.close_project(Samples.project(tag)) == ref  # a no-op: nothing is written

    assert ref.id == str(project)
    assert closed.startswith("Closed@")
    assert status_of(client, project) == closed
    assert gateway.snapshot(f"K-{tag}").project_closed
    tasks = client.search_read("project.work", [("parent", "=", project)], ["progress"])
    assert tasks
    assert all(not task["progress"] for task in tasks)  # undelivered milestones stay open
    due = client.read("project.work", [project], ["amount_to_invoice"])[0]
    assert not due["amount_to_invoice"]


def test_an_upsert_after_closing_keeps_the_project_closed(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project = opened(gateway, tag)
    gateway.close_project(Samples.project(tag))
    renamed = Samples.project(tag).model_copy(update={"name": f"Renamed {tag}"})
    gateway.upsert_project(renamed, Samples.contract(tag))
    assert status_of(client, project).startswith("Closed@")
    assert gateway.snapshot(f"K-{tag}").project_closed


def test_closing_a_project_tryton_does_not_hold_is_a_data_error(
    gateway: TrytonFinancialSystem, tag: str
) -> None:
    with pytest.raises(DataError) as caught:
        gateway.close_project(Samples.project(tag))
    assert caught.value.code == "tryton.unknown_project"
