"""NetSuiteFinancialSystem against the simulator: idempotent upserts, invoices, snapshot, faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import httpx
import pytest

from contractsync.adapters.netsuite import NetSuiteFinancialSystem
from contractsync.adapters.netsuite.mapping import external_id
from contractsync.errors import AmbiguousCommitError, DataError, RejectedError, TransientError
from contractsync.simulators import FaultPlan
from contractsync.simulators.netsuite import NetSuiteSimulator
from tests.adapters.netsuite import samples

T = TypeVar("T")


def push_everything(gateway: NetSuiteFinancialSystem, tag: str) -> None:
    gateway.upsert_customer(samples.customer(tag), legal_entity=samples.ENTITY)
    gateway.upsert_project(samples.project(tag), samples.contract(tag))
    gateway.push_contract(samples.contract(tag), samples.schedule(tag))


def test_writing_everything_twice_leaves_one_record_of_each(
    gateway: NetSuiteFinancialSystem, sim: NetSuiteSimulator
) -> None:
    push_everything(gateway, "a")
    first = gateway.create_invoice("K-a", invoice_key="M1", amount=samples.eur("5000"))
    push_everything(gateway, "a")
    assert gateway.create_invoice("K-a", invoice_key="M1", amount=samples.eur("5000")) == first
    counts = {kind: len(rows) for kind, rows in sim.account.records.items()}
    assert counts == {
        "customer": 1,
        "job": 1,
        "projecttask": 2,
        "billingSchedule": 1,
        "salesOrder": 1,
        "invoice": 1,
    }
    customer = sim.account.raw("customer", f"eid:{external_id('CUST-a')}")
    assert len(customer["addressBook"]) == 1  # replaced, not appended, on the second upsert
    order = sim.account.raw("salesOrder", "eid:K-a")
    assert [line["amount"] for line in order["item"]] == [20000.0, 2000.0]


def test_milestone_tasks_are_milestones_because_they_plan_no_work(
    gateway: NetSuiteFinancialSystem, sim: NetSuiteSimulator
) -> None:
    push_everything(gateway, "b")
    tasks = sorted(sim.account.records["projecttask"].values(), key=lambda t: t["title"])
    assert [(t["title"], t["isMilestone"]) for t in tasks] == [
        ("Go-live", True),
        ("Kick-off", True),
    ]


def test_the_snapshot_reads_back_the_contract_with_hand_edits_and_invoices(
    gateway: NetSuiteFinancialSystem, sim: NetSuiteSimulator
) -> None:
    push_everything(gateway, "c")
    gateway.create_invoice("K-c", invoice_key="M1", amount=samples.eur("5000"))
    gateway.create_invoice("K-c", invoice_key="L2:2026-01-01", amount=samples.eur("1000"))
    snapshot = gateway.snapshot("K-c")
    assert snapshot.contract == samples.contract("c")
    assert snapshot.invoiced_milestone_ids == {"M1"}
    assert snapshot.closed_through is None
    schedule = sim.account.raw("salesOrder", "eid:K-c")["billingSchedule"]["id"]
    rows = sim.account.raw("billingSchedule", schedule)["milestone"]
    rows[3]["milestoneAmount"] = 17500.0
    sim.account.update(
        "billingSchedule", schedule, {"milestone": {"items": rows}}, replace={"milestone"}
    )
    sim.account.update("salesOrder", "eid:K-c", {"memo": "SOW c (renegotiated)"}, replace=set())
    sim.account.closed_through = dt.date(2026, 3, 31)
    edited = gateway.snapshot("K-c")
    assert edited.contract.title == "SOW c (renegotiated)"
    go_live = next(m for _, m in edited.contract.milestones() if m.id == "M2")
    assert go_live.amount.amount == Decimal("17500.00")
    assert edited.closed_through == dt.date(2026, 3, 31)


class Recorded(httpx.BaseTransport):
    """The simulator's transport, remembering every record write sent through it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.writes: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" and "/record/" in request.url.path:
            self.writes.append(f"{request.method} {request.url.path}")
        return self.inner.handle_request(request)


def test_closing_a_project_gives_its_job_the_closed_status_once(sim: NetSuiteSimulator) -> None:
    recorded = Recorded(sim.transport())
    gateway = NetSuiteFinancialSystem.connect(samples.settings(), transport=recorded)
    push_everything(gateway, "c")
    assert not gateway.snapshot("K-c").project_closed
    recorded.writes.clear()

    ref = gateway.close_project(samples.project("c"))
    assert gateway.close_project(samples.project("c")) == ref

    assert recorded.writes == [f"PUT /services/rest/record/v1/job/eid:{external_id('P-c')}"]
    job = sim.account.render(samples.BASE_URL, "job", ref.id)
    assert (job["entityStatus"]["id"], job["entityStatus"]["refName"]) == ("1", "Closed")
    assert gateway.snapshot("K-c").project_closed
    push_everything(gateway, "c")  # a later upsert never reopens it
    assert gateway.snapshot("K-c").project_closed
    with pytest.raises(DataError) as caught:
        gateway.close_project(samples.project("none"))
    assert caught.value.code == "netsuite.unknown_job"


def test_an_invoice_in_a_closed_period_is_rejected_not_retried(
    sim: NetSuiteSimulator, gateway: NetSuiteFinancialSystem
) -> None:
    push_everything(gateway, "d")
    sim.account.closed_through = dt.date(2099, 12, 31)
    with pytest.raises(RejectedError) as caught:
        gateway.create_invoice("K-d", invoice_key="M1", amount=samples.eur("5000"))
    assert caught.value.code == "netsuite.period_closed"
    assert gateway.find_invoice("K-d", invoice_key="M1") is None


def test_a_project_before_its_customer_is_a_data_error(gateway: NetSuiteFinancialSystem) -> None:
    with pytest.raises(DataError, match="no customer"):
        gateway.upsert_project(samples.project("e"), samples.contract("e"))


def test_a_concurrency_refusal_is_transient_with_the_configured_wait(
    sim: NetSuiteSimulator, gateway: NetSuiteFinancialSystem
) -> None:
    sim.gate.limit = 0
    with pytest.raises(TransientError) as caught:
        gateway.upsert_customer(samples.customer("f"), legal_entity=samples.ENTITY)
    assert caught.value.retry_after == samples.CONCURRENCY_WAIT
    assert caught.value.detail["vendor_code"] == "CONCURRENCY_LIMIT_EXCEEDED"
    sim.gate.limit = 5
    assert gateway.check().ok


class DurableSteps:
    """Runs calls as the workflow engine runs steps: again after a transient or ambiguous error.

    Calling a NetSuite gateway method again is safe: every write is a PUT by externalId.
    """

    def __init__(self, attempts: int = 30) -> None:
        self.attempts = attempts
        self.retries = 0

    def run(self, call: Callable[[], T]) -> T:
        for _ in range(self.attempts - 1):
            try:
                return call()
            except (TransientError, AmbiguousCommitError):
                self.retries += 1
        return call()


def push_with_retries(gateway: NetSuiteFinancialSystem, steps: DurableSteps, tag: str) -> None:
    """What the contract-approved flow asks of the ERP, each call a retried step."""
    contract = samples.contract(tag)
    steps.run(lambda: gateway.upsert_customer(samples.customer(tag), legal_entity=samples.ENTITY))
    steps.run(lambda: gateway.upsert_project(samples.project(tag), contract))
    steps.run(lambda: gateway.push_contract(contract, samples.schedule(tag)))
    steps.run(
        lambda: gateway.create_invoice(contract.id, invoice_key="M1", amount=samples.eur("5000"))
    )
    steps.run(
        lambda: gateway.create_invoice(
            contract.id, invoice_key="L2:2026-01-01", amount=samples.eur("1000")
        )
    )


def test_with_20_percent_errors_and_10_percent_lost_writes_nothing_is_duplicated() -> None:
    plan = FaultPlan(
        seed=11,
        server_error_rate=0.1,
        rate_limit_rate=0.05,
        timeout_rate=0.05,
        lost_response_rate=0.1,
        paths=["/services/rest/record"],
    )
    sim = NetSuiteSimulator(faults=plan)
    transport = sim.transport()
    settings = samples.settings(concurrency_wait_seconds=0.0)
    gateway = NetSuiteFinancialSystem.connect(settings, transport=transport)
    steps = DurableSteps()
    tags = [f"z{i}" for i in range(8)]
    for tag in tags:
        push_with_retries(gateway, steps, tag)
    transport.close()
    injected = sim.injector.injected
    assert injected["lost_response"] >= 5, injected
    assert injected["server_error"] >= 5, injected
    records = sim.account.records
    for kind, per_tag in (("customer", 1), ("job", 1), ("salesOrder", 1), ("invoice", 2)):
        assert len(records[kind]) == per_tag * len(tags), kind
    names = [r["companyName"] for r in records["customer"].values()]
    assert len(names) == len(set(names))
    keys = [
        (r["custbody_cs_contract_id"], r["custbody_cs_invoice_key"])
        for r in records["invoice"].values()
    ]
    assert len(keys) == len(set(keys))
    assert all(len(r["item"]) == 1 for r in records["invoice"].values())
