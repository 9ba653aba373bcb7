"""TrytonFinancialSystem against a real trytond on loopback: idempotent writes, invoices, snapshots."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from pydantic import SecretStr

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.adapters.tryton.mapping import record_key
from contractsync.adapters.tryton.server import free_port
from contractsync.domain.contract_line import FixedFee
from contractsync.domain.milestone import BillingMilestone
from contractsync.errors import ConflictError, DataError
from contractsync.services.billing import build_billing_schedule
from tests.adapters.tryton.samples import Samples, gateway_settings

E = Samples.eur


def project_key(tag: str) -> list[tuple[str, str, str]]:
    return [("type", "=", "project"), ("comment", "=", f"contractsync:project:K-{tag}")]


def pushed(gateway: TrytonFinancialSystem, tag: str, *, with_tm: bool = True) -> int:
    gateway.upsert_customer(Samples.customer(tag), legal_entity=Samples.entity)
    ref = gateway.upsert_project(Samples.project(tag), Samples.contract(tag, with_tm=with_tm))
    return int(ref.id)


# -- check -----------------------------------------------------------------------------


def test_check_reports_the_server_version_database_and_company(
    gateway: TrytonFinancialSystem, settings: TrytonSettings
) -> None:
    health = gateway.check()
    assert health.ok
    assert health.system == "tryton"
    assert health.version is not None
    assert health.version.startswith("8.2")
    assert f"database {settings.database}" in health.detail
    assert "Contractsync Demo Services Ltd" in health.detail
    assert health.latency_ms is not None


def test_check_reports_a_wrong_password_instead_of_raising(settings: TrytonSettings) -> None:
    wrong = gateway_settings(settings).model_copy(update={"password": SecretStr("nope")})
    with TrytonClient(wrong) as client:
        health = TrytonFinancialSystem(client, wrong, sleep=lambda _s: None).check()
    assert not health.ok
    assert "wrong user or password" in health.detail


def test_check_reports_an_unreachable_server_at_once_instead_of_raising(
    settings: TrytonSettings,
) -> None:
    nowhere = gateway_settings(settings).model_copy(
        update={"url": f"http://127.0.0.1:{free_port()}", "retry_base_seconds": 5.0}
    )
    with TrytonClient(nowhere) as client:
        started = time.perf_counter()
        health = TrytonFinancialSystem(client, nowhere).check()
    assert not health.ok
    assert "could not be reached" in health.detail
    assert time.perf_counter() - started < 5


# -- customers -------------------------------------------------------------------------


def test_upsert_customer_twice_creates_one_party_with_its_vat_number_and_invoice_address(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    customer = Samples.customer(tag)
    first = gateway.upsert_customer(customer, legal_entity=Samples.entity)
    second = gateway.upsert_customer(customer, legal_entity=Samples.entity)
    assert first == second
    assert (first.system, first.kind) == ("tryton", "party")
    assert client.search_count("party.party", [("code", "=", customer.id)]) == 1
    party = client.read(
        "party.party",
        [int(first.id)],
        ["name", "tax_identifier.code", "addresses.country.code", "addresses.invoice"],
    )[0]
    assert party["name"] == customer.legal_name
    assert party["tax_identifier."]["code"] == "DE136695976"
    assert [(a["country."]["code"], bool(a["invoice"])) for a in party["addresses."]] == [
        ("DE", True)
    ]


def test_upsert_customer_renames_the_party_and_adds_a_missing_tax_identifier(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    bare = Samples.customer(tag).model_copy(update={"tax_ids": ()})
    ref = gateway.upsert_customer(bare, legal_entity=Samples.entity)
    renamed = Samples.customer(tag, name="Globex AG")
    assert gateway.upsert_customer(renamed, legal_entity=Samples.entity) == ref
    party = client.read("party.party", [int(ref.id)], ["name", "identifiers.code"])[0]
    assert party["name"] == f"Globex AG {tag}"
    assert [i["code"] for i in party["identifiers."]] == ["DE136695976"]
    assert gateway.upsert_customer(renamed, legal_entity=Samples.entity) == ref
    assert client.search_count("party.identifier", [("party", "=", int(ref.id))]) == 1


def test_upsert_customer_refuses_a_legal_entity_this_tryton_does_not_book_for(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    elsewhere = Samples.entity.model_copy(update={"erp_company": "no-such-company"})
    with pytest.raises(DataError) as caught:
        gateway.upsert_customer(Samples.customer(tag), legal_entity=elsewhere)
    assert caught.value.code == "tryton.unknown_company"
    assert client.search_count("party.party", [("code", "=", f"CUST-{tag}")]) == 0


# -- projects and contracts ------------------------------------------------------------


def test_upsert_project_twice_creates_one_project_with_a_task_per_milestone_and_tm_roles(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    gateway.upsert_customer(Samples.customer(tag), legal_entity=Samples.entity)
    project, contract = Samples.project(tag), Samples.contract(tag)
    first = gateway.upsert_project(project, contract)
    assert gateway.upsert_project(project, contract) == first
    assert client.search_count("project.work", project_key(tag)) == 1
    works = client.search_read(
        "project.work",
        [("parent", "child_of", [int(first.id)])],
        ["comment", "name", "type", "list_price", "invoice_method", "party.code"],
    )
    by_key = {w["comment"]: w for w in works}
    assert len(by_key) == len(works) == 6  # project, M1, M2, T&M line, two roles
    root = by_key[f"contractsync:project:K-{tag}"]
    assert (root["name"], root["invoice_method"], root["party."]["code"]) == (
        f"Delivery {tag}",
        "effort",
        f"CUST-{tag}",
    )
    assert by_key["contractsync:task:M1"]["list_price"] == Decimal("5000")
    assert by_key["contractsync:task:M2"]["list_price"] == Decimal("15000")
    assert by_key["contractsync:line:L2"]["invoice_method"] == "timesheet"
    assert by_key["contractsync:role:L2/Architect"]["list_price"] == Decimal("180")


def test_upsert_project_renames_the_project_and_moves_it_to_another_customer_in_one_write(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag)
    other = Samples.customer(f"{tag}-B")
    gateway.upsert_customer(other, legal_entity=Samples.entity)
    moved = Samples.contract(tag).model_copy(update={"customer_id": other.id})
    renamed = Samples.project(tag).model_copy(update={"name": "Delivery, phase 2"})
    assert int(gateway.upsert_project(renamed, moved).id) == project_id
    row = client.read("project.work", [project_id], ["name", "party.code"])[0]
    assert (row["name"], row["party."]["code"]) == ("Delivery, phase 2", other.id)
    assert gateway.snapshot(f"K-{tag}").contract.customer_id == other.id


def test_upsert_project_before_the_customer_is_a_data_error(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    with pytest.raises(DataError) as caught:
        gateway.upsert_project(Samples.project(tag), Samples.contract(tag))
    assert caught.value.code == "tryton.unknown_customer"
    assert client.search_count("project.work", project_key(tag)) == 0


def test_push_contract_holds_the_contract_in_its_project_and_refuses_another_versions_schedule(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag)
    contract = Samples.contract(tag)
    schedule = build_billing_schedule(contract, legal_entity=Samples.entity)
    ref = gateway.push_contract(contract, schedule)
    assert int(ref.id) == project_id
    assert gateway.push_contract(contract, schedule) == ref
    name = client.read("project.work", [project_id], ["name"])[0]["name"]
    assert name == f"Delivery {tag}"  # push_contract keeps the project's name
    newer = contract.model_copy(update={"version": 2})
    with pytest.raises(DataError) as caught:
        gateway.push_contract(newer, schedule)
    assert caught.value.code == "tryton.schedule_mismatch"


def test_an_amended_contract_reprices_open_milestones_and_adds_new_ones_but_not_invoiced_ones(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag, with_tm=False)
    gateway.create_invoice(f"K-{tag}", invoice_key="M1", amount=E("5000"))
    contract = Samples.contract(tag, with_tm=False)
    line = contract.lines[0]
    assert isinstance(line.billing, FixedFee)
    m1, m2 = line.billing.milestones
    m3 = BillingMilestone(id="M3", name="Hypercare", amount=E("2500"), trigger="live+30d")
    milestones = (
        m1.model_copy(update={"amount": E("6000")}),
        m2.model_copy(update={"amount": E("14000")}),
        m3,
    )
    billing = line.billing.model_copy(update={"amount": E("22500"), "milestones": milestones})
    amended = contract.model_copy(
        update={"version": 2, "lines": (line.model_copy(update={"billing": billing}),)}
    )
    gateway.upsert_project(Samples.project(tag), amended)
    rows = client.search_read(
        "project.work", [("parent", "=", project_id)], ["comment", "list_price"]
    )
    prices = {r["comment"]: r["list_price"] for r in rows}
    assert prices == {
        "contractsync:task:M1": Decimal("5000"),  # already invoiced at 5000: kept
        "contractsync:task:M2": Decimal("14000"),
        "contractsync:task:M3": Decimal("2500"),
    }


def test_a_task_copied_by_hand_in_tryton_is_reported_not_guessed_between(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag)
    task = client.search(
        "project.work", [("parent", "=", project_id), ("comment", "=", "contractsync:task:M2")]
    )
    client.execute("project.work", "copy", task)  # Tryton's copy keeps the comment
    with pytest.raises(DataError) as caught:
        gateway.upsert_project(Samples.project(tag), Samples.contract(tag))
    assert caught.value.code == "tryton.duplicate_key"
    with pytest.raises(DataError):
        gateway.create_invoice(f"K-{tag}", invoice_key="M2", amount=E("15000"))


# -- invoices --------------------------------------------------------------------------


def test_a_milestone_is_invoiced_once_per_key_at_its_fixed_price(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    pushed(gateway, tag)
    first = gateway.create_invoice(f"K-{tag}", invoice_key="M1", amount=E("5000"))
    assert gateway.create_invoice(f"K-{tag}", invoice_key="M1", amount=E("5000")) == first
    assert gateway.find_invoice(f"K-{tag}", invoice_key="M1") == first
    assert client.search_count("account.invoice", [("party.code", "=", f"CUST-{tag}")]) == 1
    invoice = client.read(
        "account.invoice", [int(first.id)], ["reference", "untaxed_amount", "state", "type"]
    )[0]
    assert invoice["reference"] == f"contractsync:invoice:K-{tag}/M1"
    assert (invoice["untaxed_amount"], invoice["state"], invoice["type"]) == (
        Decimal("5000.00"),
        "draft",
        "out",
    )


def test_a_period_key_is_invoiced_once_as_one_line_with_the_hubs_amount(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    pushed(gateway, tag)
    first = gateway.create_invoice(f"K-{tag}", invoice_key="L2-2026-03", amount=E("1234.50"))
    assert (
        gateway.create_invoice(f"K-{tag}", invoice_key="L2-2026-03", amount=E("1234.50")) == first
    )
    assert gateway.find_invoice(f"K-{tag}", invoice_key="L2-2026-03") == first
    invoice = client.read("account.invoice", [int(first.id)], ["untaxed_amount", "lines"])[0]
    assert invoice["untaxed_amount"] == Decimal("1234.50")
    assert len(invoice["lines"]) == 1
    assert client.search_count("account.invoice", [("party.code", "=", f"CUST-{tag}")]) == 1


def test_invoicing_a_milestone_repriced_in_tryton_is_a_conflict(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag)
    task = client.search(
        "project.work", [("parent", "=", project_id), ("comment", "=", "contractsync:task:M2")]
    )
    client.write("project.work", task, {"list_price": Decimal("16000")})
    with pytest.raises(ConflictError) as caught:
        gateway.create_invoice(f"K-{tag}", invoice_key="M2", amount=E("15000"))
    assert caught.value.code == "tryton.milestone_price_changed"
    assert gateway.find_invoice(f"K-{tag}", invoice_key="M2") is None


def test_a_milestone_invoiced_by_hand_in_tryton_is_found_and_never_invoiced_again(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag)
    assert gateway.find_invoice(f"K-{tag}", invoice_key="M2") is None
    task = client.search(
        "project.work", [("parent", "=", project_id), ("comment", "=", "contractsync:task:M2")]
    )
    client.write("project.work", task, {"progress": 1.0})
    client.execute("project.work", "invoice", [project_id])
    found = gateway.find_invoice(f"K-{tag}", invoice_key="M2")
    assert found is not None
    assert gateway.create_invoice(f"K-{tag}", invoice_key="M2", amount=E("15000")) == found
    assert client.search_count("account.invoice", [("party.code", "=", f"CUST-{tag}")]) == 1


# -- snapshots -------------------------------------------------------------------------


def test_snapshot_reflects_a_milestone_price_edited_by_hand_and_the_invoiced_milestones(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    project_id = pushed(gateway, tag)
    gateway.create_invoice(f"K-{tag}", invoice_key="M1", amount=E("5000"))
    task = client.search(
        "project.work", [("parent", "=", project_id), ("comment", "=", "contractsync:task:M2")]
    )
    client.write("project.work", task, {"list_price": Decimal("17500")})
    snapshot = gateway.snapshot(f"K-{tag}")
    assert snapshot.invoiced_milestone_ids == frozenset({"M1"})
    line = snapshot.contract.line("L1")
    assert line is not None
    assert isinstance(line.billing, FixedFee)
    assert [(m.id, m.amount, m.status) for m in line.billing.milestones] == [
        ("M1", E("5000"), "invoiced"),
        ("M2", E("17500"), "planned"),
    ]
    assert line.billing.amount == E("22500")
    pushed_contract = Samples.contract(tag)
    assert snapshot.contract.rate_cards == pushed_contract.rate_cards
    assert snapshot.contract.line("L2") == pushed_contract.line("L2")


def test_snapshot_reports_the_end_of_the_latest_closed_period(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    pushed(gateway, tag)
    assert gateway.snapshot(f"K-{tag}").closed_through is None
    # Close a period of next year: nothing is booked there, so other tests are unaffected.
    first = date(date.today().year + 1, 1, 1)
    period = client.search(
        "account.period", [("start_date", "=", first), ("type", "=", "standard")]
    )
    client.execute("account.period", "close", period)
    try:
        assert gateway.snapshot(f"K-{tag}").closed_through == date(first.year, 1, 31)
    finally:
        client.execute("account.period", "reopen", period)


def test_snapshot_of_a_contract_tryton_does_not_hold_is_a_data_error(
    gateway: TrytonFinancialSystem, tag: str
) -> None:
    with pytest.raises(DataError) as caught:
        gateway.snapshot(f"K-{tag}")
    assert caught.value.code == "tryton.unknown_project"


def test_milestones_of_one_project_invoiced_at_once_each_get_their_own_invoice(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    # Two workers' billing runs for two milestones of the same project, at the same moment:
    # Tryton's button bills every finished task, so without care one invoice takes both.
    pushed(gateway, tag, with_tm=False)
    amounts = {"M1": E("5000"), "M2": E("15000")}

    def bill(key: str) -> str:
        return gateway.create_invoice(f"K-{tag}", invoice_key=key, amount=amounts[key]).id

    with ThreadPoolExecutor(max_workers=2) as pool:
        invoices = dict(zip(amounts, pool.map(bill, amounts), strict=True))

    assert invoices["M1"] != invoices["M2"]
    rows = client.read("account.invoice", [int(i) for i in invoices.values()], ["untaxed_amount"])
    assert sorted(Decimal(str(r["untaxed_amount"])) for r in rows) == [5000, 15000]


def test_a_milestone_billed_by_another_workers_press_is_found_not_refused(
    gateway: TrytonFinancialSystem, client: TrytonClient, tag: str
) -> None:
    # Another process marked M2 done and pressed the button after this one looked M1 up:
    # Tryton billed M1 with it, and refuses a second press (nothing left to invoice).
    project_id = pushed(gateway, tag, with_tm=False)
    tasks = client.search_read(
        "project.work", [("parent", "=", project_id)], ["id", "comment", "name", "list_price"]
    )
    client.write("project.work", [t["id"] for t in tasks], {"progress": 1.0})
    client.execute("project.work", "invoice", [project_id])
    project = gateway.invoices.projects.find(f"K-{tag}")
    assert project is not None
    first = gateway.invoices.projects.child(project.id, record_key("task", "M1"))
    assert first is not None

    invoice = gateway.invoices._invoice_milestone(project, first, E("5000"))

    (row,) = client.read("account.invoice", [invoice], ["untaxed_amount"])
    assert Decimal(str(row["untaxed_amount"])) == 20000  # both milestones, billed once
