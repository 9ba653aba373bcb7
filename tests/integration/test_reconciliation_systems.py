"""Reconciliation across real adapters: Ironclad served on loopback, the real Tryton ERP, the
Salesforce simulator, and the hub database; the PSA is the in-memory fake (edited by hand in
the tests), or Kantata served on loopback when ``contractsync reconcile`` compares its plans."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine
from typer.testing import CliRunner

from contractsync.adapters.clock import SystemClock
from contractsync.adapters.ironclad import IroncladContractSource
from contractsync.adapters.kantata import KantataProjectTracker
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.adapters.salesforce import SalesforceCustomerDirectory
from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.domain.drift import DriftKind, DriftOutcome, ReconciliationReport
from contractsync.domain.events import EventType
from contractsync.domain.exception_item import ExceptionStatus
from contractsync.domain.money import Money
from contractsync.domain.ownership import SystemRole
from contractsync.domain.project import Project
from contractsync.domain.roles import OwnerRole
from contractsync.entrypoints.cli import app
from contractsync.policies import load_default_reconciliation_policy
from contractsync.ports.systems import SourcedContract
from contractsync.services.reconciliation_run import ABSENT_CODES, reconcile
from contractsync.simulators.ironclad import IroncladSimulator
from contractsync.simulators.kantata import KantataSimulator
from contractsync.simulators.kantata_scenarios import OPERATOR_USER
from contractsync.simulators.server import running
from contractsync.testing.fake_systems import FakeProjectTracker
from tests.adapters.ironclad.harness import settings as ironclad_settings
from tests.adapters.kantata import samples as kantata_samples
from tests.adapters.salesforce.harness import SalesforceHarness
from tests.adapters.tryton.conftest import (  # noqa: F401 - the real Tryton's fixtures
    client,
    gateway,
    provisioned,
    settings,
    tag,
    tryton_root,
    tryton_server,
)
from tests.adapters.tryton.samples import Samples

pytestmark = pytest.mark.postgres  # the hub database runs on SQLite and PostgreSQL


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Systems:
    """The four systems and the hub's database, as a deployment would wire them."""

    clm_sim: IroncladSimulator
    clm_url: str
    clm: IroncladContractSource
    erp: TrytonFinancialSystem
    tryton: TrytonClient
    psa: FakeProjectTracker
    crm: SalesforceCustomerDirectory
    hub: Engine

    def approve(self, key: str) -> SourcedContract:
        """Launch and approve contract ``K-<key>`` in Ironclad; return it as the CLM has it."""
        document = {
            "customer": Samples.customer(key).model_dump(mode="json"),
            "contract": Samples.contract(key).model_dump(mode="json"),
        }
        with self.clm_sim.client() as operator:
            launched = operator.post("/_sim/scenarios/launch_workflow", json=document)
            workflow = launched.json()["id"]
            operator.post("/_sim/scenarios/approve_workflow", json={"workflow_id": workflow})
        (ref,) = [r for r in self.clm.list_contracts(cursor=None, limit=100).items
                  if self.clm.fetch_contract(r).contract.id == f"K-{key}"]  # fmt: skip
        return self.clm.fetch_contract(ref)

    def activate(self, sourced: SourcedContract) -> Project:
        """What the activation flow does: customer, ERP project and PSA project."""
        contract = sourced.contract
        project = Project(
            id=contract.id,
            contract_id=contract.id,
            customer_id=contract.customer_id,
            name=f"Delivery {contract.id}",
        )
        self.crm.upsert_account(sourced.customer)
        self.erp.upsert_customer(sourced.customer, legal_entity=Samples.entity)
        self.erp.upsert_project(project, contract)
        self.psa.upsert_project(project, contract)
        return project

    def reprice_in_tryton(self, contract_id: str, milestone_id: str, price: str) -> None:
        """A finance user edits a milestone task's price by hand in Tryton."""
        project = self.erp.projects.find(contract_id)
        assert project is not None
        domain = [
            ("parent", "=", project.id),
            ("comment", "=", f"contractsync:task:{milestone_id}"),
        ]
        self.tryton.write("project.work", self.tryton.search("project.work", domain),
                          {"list_price": Decimal(price)})  # fmt: skip

    def task_price(self, contract_id: str, milestone_id: str) -> Decimal:
        project = self.erp.projects.find(contract_id)
        assert project is not None
        domain = [
            ("parent", "=", project.id),
            ("comment", "=", f"contractsync:task:{milestone_id}"),
        ]
        (row,) = self.tryton.search_read("project.work", domain, ["list_price"])
        return Decimal(row["list_price"])

    def reconcile(self) -> ReconciliationReport:
        clock = SystemClock()
        return reconcile(
            contracts=self.clm,
            erp=self.erp,
            psa=self.psa,
            crm=self.crm,
            uow_factory=lambda: SqlUnitOfWork(self.hub, clock),
            clock=clock,
            policy=load_default_reconciliation_policy(),
            legal_entities={Samples.entity.code: Samples.entity},
            # Tryton says a contract it does not hold with its own code (the bootstrap
            # passes the same set).
            absent_codes={*ABSENT_CODES, "tryton.unknown_project"},
        )

    def open_items(self) -> list[tuple[str, OwnerRole, Money | None, str | None]]:
        with SqlUnitOfWork(self.hub, SystemClock()) as uow:
            return [(i.id, i.owner, i.money_at_risk, i.contract_id)
                    for i in uow.exceptions.list(status=(ExceptionStatus.OPEN,), limit=100)]  # fmt: skip

    def drift_events(self) -> list[str]:
        with SqlUnitOfWork(self.hub, SystemClock()) as uow:
            pending = uow.outbox.pending(limit=1000)
            return [e.event.id for e in pending if e.event.type is EventType.DRIFT_FOUND]


@pytest.fixture
def systems(
    signing_key: rsa.RSAPrivateKey,
    gateway: TrytonFinancialSystem,  # noqa: F811 - the imported fixture
    client: TrytonClient,  # noqa: F811
    engine: Engine,
) -> Iterator[Systems]:
    sim = IroncladSimulator(signing_key=signing_key)
    crm = SalesforceHarness()
    with running(sim) as url:
        yield Systems(
            clm_sim=sim,
            clm_url=url,
            clm=IroncladContractSource.connect(ironclad_settings(base_url=url)),
            erp=gateway,
            tryton=client,
            psa=FakeProjectTracker(system="psa"),
            crm=crm.build(),
            hub=engine,
        )


def test_a_tryton_hand_edit_goes_to_finance_and_a_lost_psa_milestone_is_healed_once(
    systems: Systems,
    tag: str,  # noqa: F811
) -> None:
    first, second = systems.approve(f"{tag}A"), systems.approve(f"{tag}B")
    systems.activate(first)
    systems.activate(second)
    assert systems.reconcile().is_clean  # both contracts arrived everywhere as approved

    systems.reprice_in_tryton(first.contract.id, "M2", "17500")
    plan = systems.psa.plans[second.contract.id]
    systems.psa.plans[second.contract.id] = plan.model_copy(
        update={"milestones": tuple(m for m in plan.milestones if m.id != "M1")}
    )

    report = systems.reconcile()
    found = [
        (line.item.contract_id, line.item.role, line.item.kind, line.item.field,
         line.item.money_at_risk, line.outcome, line.owner)
        for line in report.lines
    ]  # fmt: skip
    assert found == [
        (first.contract.id, SystemRole.ERP, DriftKind.MILESTONE_MISMATCH,
         "lines.L1.milestones.M2.amount", Samples.eur("2500"), DriftOutcome.EXCEPTION,
         OwnerRole.FINANCE),
        (second.contract.id, SystemRole.PSA, DriftKind.MILESTONE_MISMATCH,
         "lines.L1.milestones.M1", Samples.eur("5000"), DriftOutcome.HEALED, None),
    ]  # fmt: skip
    assert report.all_failures == []
    assert systems.psa.plans[second.contract.id].milestone("M1") is not None
    assert systems.task_price(first.contract.id, "M2") == Decimal("17500")  # finance decides
    (item,) = systems.open_items()
    assert item[1:] == (OwnerRole.FINANCE, Samples.eur("2500"), first.contract.id)
    events = systems.drift_events()
    assert len(events) == 2

    again = systems.reconcile()
    assert [(line.item.contract_id, line.exception_id) for line in again.lines] == [
        (first.contract.id, item[0])
    ]
    assert systems.open_items() == [item]
    assert systems.drift_events() == events


def test_an_approved_contract_tryton_does_not_hold_is_missing_in_the_erp(
    systems: Systems,
    tag: str,  # noqa: F811
) -> None:
    sourced = systems.approve(tag)
    systems.crm.upsert_account(sourced.customer)
    report = systems.reconcile()
    kinds = {(line.item.kind, line.item.money_at_risk, line.owner) for line in report.lines}
    assert kinds == {
        (DriftKind.MISSING_IN_ERP, Samples.eur("20000"), OwnerRole.INTEGRATION_ADMIN),
        (DriftKind.MISSING_IN_PSA, Samples.eur("20000"), OwnerRole.INTEGRATION_ADMIN),
    }


def test_contractsync_reconcile_reads_the_systems_from_its_settings_file(
    systems: Systems,
    settings: TrytonSettings,  # noqa: F811
    database_url: str,
    tag: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sourced = systems.approve(tag)
    systems.activate(sourced)
    systems.reprice_in_tryton(sourced.contract.id, "M2", "16000")
    monkeypatch.setenv("IRONCLAD_SECRET", "sim-secret")
    monkeypatch.setenv("TRYTON_PASSWORD", settings.password.get_secret_value())
    config = tmp_path / "contractsync.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": database_url},
                "systems": {
                    "ironclad": {
                        "vendor": "ironclad",
                        "options": {
                            "base_url": systems.clm_url,
                            "client_id": "sim-client",
                            "as_user_email": "integration@contractsync.example",
                        },
                        "secrets": {"client_secret": {"env": "IRONCLAD_SECRET"}},
                    },
                    "tryton": {
                        "vendor": "tryton",
                        "options": {
                            "url": settings.base_url,
                            "database": settings.database,
                            "user": settings.user,
                            "company_id": settings.company_id,
                        },
                        "secrets": {"password": {"env": "TRYTON_PASSWORD"}},
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    args = ["reconcile", "--config", str(config), "--json", "--contract", sourced.contract.id]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    (line,) = [line for c in document["contracts"] for line in c["lines"]]
    assert (line["item"]["system"], line["item"]["field"], line["item"]["money_at_risk"]) == (
        "tryton",
        "lines.L1.milestones.M2.amount",
        {"amount": "1000.00", "currency": "EUR"},
    )
    assert (line["outcome"], line["owner"]) == ("exception", "finance")
    assert document["summary"]["unhealed_money_at_risk"] == {"EUR": "1000.00"}
    assert "CRM not compared: no salesforce system is configured" in document["not_compared"]


def test_contractsync_reconcile_compares_the_kantata_plan_and_heals_a_milestone_moved_there(
    systems: Systems,
    settings: TrytonSettings,  # noqa: F811
    database_url: str,
    tag: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kantata = KantataSimulator()
    with running(kantata) as kantata_url:
        psa = KantataProjectTracker.connect(kantata_samples.settings(base_url=kantata_url))
        sourced = systems.approve(tag)
        project = systems.activate(sourced)
        workspace = psa.upsert_project(project, sourced.contract)
        (story,) = [s for s in kantata.account.rows("stories") if s["title"] == "Go-live"]
        moved = {"due_date": "2026-09-30"}  # delivery moved the milestone by hand in Kantata
        kantata.account.update("stories", story["id"], moved, user_id=OPERATOR_USER)
        monkeypatch.setenv("IRONCLAD_SECRET", "sim-secret")
        monkeypatch.setenv("TRYTON_PASSWORD", settings.password.get_secret_value())
        monkeypatch.setenv("KANTATA_TOKEN", "sim-token")
        config = tmp_path / "contractsync.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": {"url": database_url},
                    "systems": {
                        "ironclad": {
                            "vendor": "ironclad",
                            "options": {
                                "base_url": systems.clm_url,
                                "client_id": "sim-client",
                                "as_user_email": "integration@contractsync.example",
                            },
                            "secrets": {"client_secret": {"env": "IRONCLAD_SECRET"}},
                        },
                        "tryton": {
                            "vendor": "tryton",
                            "options": {
                                "url": settings.base_url,
                                "database": settings.database,
                                "user": settings.user,
                                "company_id": settings.company_id,
                            },
                            "secrets": {"password": {"env": "TRYTON_PASSWORD"}},
                        },
                        "kantata": {
                            "vendor": "kantata",
                            "options": {"base_url": kantata_url},
                            "secrets": {"token": {"env": "KANTATA_TOKEN"}},
                        },
                    },
                }
            ),
            encoding="utf-8",
        )
        args = ["reconcile", "--config", str(config), "--json", "--contract", sourced.contract.id]
        result = CliRunner().invoke(app, args)

        document = json.loads(result.stdout)
        (line,) = [line for c in document["contracts"] for line in c["lines"]]
        assert (line["item"]["system"], line["item"]["role"], line["item"]["field"]) == (
            "kantata",
            "psa",
            "lines.L1.milestones.M2.due_date",
        )
        assert line["outcome"] == "healed", result.output
        assert not [note for note in document["not_compared"] if "PSA" in note]
        assert kantata.account.get("stories", story["id"])["due_date"] == "2026-06-30"
        assert psa.find_project(project.id) == workspace
        plan = psa.project_plan(project.id)
        assert plan is not None
        assert plan.milestone("M2") is not None
