"""Faults against the real Tryton: injected 503s and writes committed whose response was lost."""

import json
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx
import pytest

from contractsync.adapters.tryton.client import TrytonClient, is_write_method
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.errors import AmbiguousCommitError, TransientError
from contractsync.testing.faulty_transport import FaultyTransport
from tests.adapters.tryton.samples import Samples, gateway_settings

T = TypeVar("T")
E = Samples.eur


def is_tryton_write(request: httpx.Request) -> bool:
    return is_write_method(str(json.loads(request.content)["method"]))


# -- the transport itself, over an in-memory server ------------------------------------


def counting_server() -> tuple[httpx.MockTransport, list[str]]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handle), seen


def send(transport: httpx.BaseTransport, method: str) -> int | str:
    try:
        return transport.handle_request(httpx.Request(method, "http://erp/")).status_code
    except httpx.ReadTimeout:
        return "lost"


def test_the_same_seed_injects_the_same_faults() -> None:
    runs = []
    for _ in range(2):
        inner, _seen = counting_server()
        faulty = FaultyTransport(inner, error_rate=0.3, lost_rate=0.3, seed=7)
        runs.append([send(faulty, "POST") for _ in range(50)])
    assert runs[0] == runs[1]
    assert {503, 200, "lost"} <= set(runs[0])


def test_an_injected_503_never_reaches_the_server_and_a_lost_write_always_does() -> None:
    inner, seen = counting_server()
    always_503 = FaultyTransport(inner, error_rate=1.0, seed=1)
    assert [send(always_503, "POST") for _ in range(3)] == [503, 503, 503]
    assert seen == []
    always_lost = FaultyTransport(inner, lost_rate=1.0, seed=1)
    assert send(always_lost, "POST") == "lost"
    assert send(always_lost, "GET") == 200  # a read's response is never lost
    assert seen == ["POST", "GET"]
    assert (always_lost.counts.writes, always_lost.counts.lost) == (1, 1)


def test_rates_outside_zero_to_one_are_refused() -> None:
    inner, _seen = counting_server()
    with pytest.raises(ValueError, match="within"):
        FaultyTransport(inner, error_rate=1.5)


# -- the gateway over the real Tryton --------------------------------------------------


@pytest.fixture
def faulty_gateway(
    settings: TrytonSettings,
) -> Iterator[Callable[..., tuple[TrytonFinancialSystem, FaultyTransport]]]:
    clients: list[TrytonClient] = []

    def build(
        *, error_rate: float, lost_rate: float, seed: int
    ) -> tuple[TrytonFinancialSystem, FaultyTransport]:
        transport = FaultyTransport(
            httpx.HTTPTransport(),
            error_rate=error_rate,
            lost_rate=lost_rate,
            seed=seed,
            is_write=is_tryton_write,
        )
        config = gateway_settings(settings)
        client = TrytonClient(config, transport=transport)
        clients.append(client)
        return TrytonFinancialSystem(client, config, sleep=lambda _s: None), transport

    yield build
    for client in clients:
        client.close()


def test_with_every_writes_response_lost_each_record_is_still_written_once(
    faulty_gateway: Callable[..., tuple[TrytonFinancialSystem, FaultyTransport]],
    client: TrytonClient,
    tag: str,
) -> None:
    gateway, transport = faulty_gateway(error_rate=0.0, lost_rate=1.0, seed=1)
    party = gateway.upsert_customer(Samples.customer(tag), legal_entity=Samples.entity)
    project = gateway.upsert_project(Samples.project(tag), Samples.contract(tag))
    invoice = gateway.create_invoice(f"K-{tag}", invoice_key="M1", amount=E("5000"))
    period = gateway.create_invoice(f"K-{tag}", invoice_key="L2-2026-03", amount=E("960"))
    # Party, project, stored contract, milestone done, invoice button, reference, period
    # invoice (plus products on a fresh database): every reply was lost, and the counts
    # below show each lookup found its write instead of writing a duplicate.
    assert transport.counts.lost == transport.counts.writes >= 7
    assert client.search_count("party.party", [("code", "=", f"CUST-{tag}")]) == 1
    key = [("type", "=", "project"), ("comment", "=", f"contractsync:project:K-{tag}")]
    assert client.search_count("project.work", key) == 1
    assert client.search_count("project.work", [("parent", "child_of", [int(project.id)])]) == 6
    invoices = client.search("account.invoice", [("party.code", "=", f"CUST-{tag}")])
    assert sorted(invoices) == sorted([int(invoice.id), int(period.id)])
    assert int(party.id) == client.search("party.party", [("code", "=", f"CUST-{tag}")])[0]


class DurableSteps:
    """Runs calls as the workflow engine runs steps: again after a transient or ambiguous error.

    Calling a gateway method again is its lookup-first retry: every method searches by its
    business key before it writes.
    """

    def __init__(self, attempts: int = 10) -> None:
        self.attempts = attempts
        self.retries = 0

    def run(self, call: Callable[[], T]) -> T:
        for _ in range(self.attempts - 1):
            try:
                return call()
            except (TransientError, AmbiguousCommitError):
                self.retries += 1
        return call()


def push_one(gateway: TrytonFinancialSystem, steps: DurableSteps, tag: str) -> None:
    """What the contract-approved flow asks of the ERP: customer, project, first invoice."""
    customer, contract = Samples.customer(tag), Samples.contract(tag)
    steps.run(lambda: gateway.upsert_customer(customer, legal_entity=Samples.entity))
    steps.run(lambda: gateway.upsert_project(Samples.project(tag), contract))
    steps.run(lambda: gateway.create_invoice(contract.id, invoice_key="M1", amount=E("5000")))


def test_twenty_customers_pushed_through_20pct_errors_and_10pct_lost_writes_leave_no_duplicate(
    faulty_gateway: Callable[..., tuple[TrytonFinancialSystem, FaultyTransport]],
    client: TrytonClient,
    tag: str,
) -> None:
    gateway, transport = faulty_gateway(error_rate=0.2, lost_rate=0.1, seed=20261127)
    tags = [f"{tag}-{n:02d}" for n in range(20)]
    started = time.perf_counter()
    steps = DurableSteps()
    for each in tags:
        push_one(gateway, steps, each)
    seconds = time.perf_counter() - started
    counts = transport.counts
    print(
        f"\n20 customers in {seconds:.1f} s: {counts.requests / 20:.1f} calls per customer, "
        f"{counts.errors} injected 503s, {counts.lost} of {counts.writes} writes lost, "
        f"{steps.retries} step retries"
    )
    assert counts.errors > 0
    assert counts.lost > 0

    for each in tags:
        assert client.search_count("party.party", [("code", "=", f"CUST-{each}")]) == 1
        key = [("type", "=", "project"), ("comment", "=", f"contractsync:project:K-{each}")]
        projects = client.search("project.work", key)
        assert len(projects) == 1
        works = client.search_read("project.work", [("parent", "child_of", projects)], ["comment"])
        assert sorted(w["comment"] for w in works) == sorted(
            [
                f"contractsync:project:K-{each}",
                "contractsync:task:M1",
                "contractsync:task:M2",
                "contractsync:line:L2",
                "contractsync:role:L2/Consultant",
                "contractsync:role:L2/Architect",
            ]
        )
        invoices = client.search_read(
            "account.invoice",
            [("party.code", "=", f"CUST-{each}")],
            ["reference", "untaxed_amount"],
        )
        assert [(i["reference"], i["untaxed_amount"]) for i in invoices] == [
            (f"contractsync:invoice:K-{each}/M1", E("5000").amount)
        ]
        attachments = client.search_count(
            "ir.attachment", [("resource", "=", f"project.work,{projects[0]}")]
        )
        assert attachments == 1
