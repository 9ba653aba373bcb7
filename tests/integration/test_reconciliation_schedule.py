"""Reconciliation on the hub's schedule: every tick runs once, its summary recorded in the hub.

A schedule of every second (six cron fields, seconds first). In process, one worker
reconciles in-memory systems into the hub database on SQLite and PostgreSQL; then two real
``contractsync worker`` processes share one PostgreSQL database and reconcile the Ironclad
and NetSuite simulators served on loopback, and each tick is still reconciled once.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import upgrade
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.bootstrap import (
    Reconciliation,
    build_clock,
    build_replay_tools,
    build_worker,
)
from contractsync.config import load_settings
from contractsync.domain.drift import DriftKind
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.ownership import DEFAULT_OWNERSHIP
from contractsync.domain.roles import OwnerRole
from contractsync.errors import ConfigError
from contractsync.policies import load_default_reconciliation_policy
from contractsync.ports.storage import AuditEntry
from contractsync.services.reconciliation_run import ABSENT_CODES
from contractsync.services.replay import ReplayTarget, replay
from contractsync.services.scheduled_reconciliation import RUN_FAILED
from contractsync.simulators.ironclad import IroncladSimulator
from contractsync.simulators.netsuite import NetSuiteSimulator
from contractsync.simulators.server import running
from contractsync.workflows.client import EngineClient
from contractsync.workflows.runs import RunStatus, RunSummary
from tests.adapters.netsuite.samples import private_key_pem
from tests.adapters.tryton.samples import Samples
from tests.integration.hub_processes import HubProcesses
from tests.integration.test_worker_crash import fresh_postgres_database
from tests.unit.test_reconciliation_run import REPRICE, US01, Hub

EVERY_SECOND = "* * * * * *"
RUN_ID = re.compile(r"^sched-reconciliation-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
DEADLINE_SECONDS = 90.0


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.1)


class HubRecords:
    """What scheduled runs left in the hub database."""

    def __init__(self, url: str) -> None:
        self.database = create_engine_for(url)
        self.clock = build_clock()

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.clock)

    def completed(self) -> list[AuditEntry]:
        with self.uow() as uow:
            entries = uow.audit.entries(limit=100_000)
        return [entry for entry in entries if entry.action == "reconciliation.completed"]

    def completed_events(self) -> Counter[str]:
        with self.uow() as uow:
            pending = uow.outbox.pending(limit=100_000)
        return Counter(e.event.subject for e in pending if e.event.type.value.endswith("completed"))

    def open_items(self) -> list[ExceptionItem]:
        with self.uow() as uow:
            return list(uow.exceptions.list(status=(ExceptionStatus.OPEN,), limit=1000))

    def close(self) -> None:
        self.database.dispose()


def scheduled_runs(settings: Any) -> dict[str, RunSummary]:
    with EngineClient(settings) as client:
        return {
            run.workflow_id: run for run in client.list_workflows(prefix="sched-reconciliation-")
        }


# -- one worker in process, in-memory systems ------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh hub database; on PostgreSQL its own database (the engine's schema too)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
        upgrade(url)
        yield url
        return
    with fresh_postgres_database("cs_schedule") as url:
        upgrade(url)
        yield url


def test_a_worker_reconciles_at_every_tick_and_records_each_run_once(
    hub_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "contractsync.yaml"
    config.write_text(
        yaml.safe_dump(
            {"database": {"url": hub_url}, "reconciliation": {"schedule": EVERY_SECOND}}
        ),
        encoding="utf-8",
    )
    settings = load_settings(config)
    records = HubRecords(hub_url)
    systems = Hub("C-1", "C-2")
    systems.edit_erp("C-1", REPRICE)  # a hand edit in the ERP: finance decides
    systems.drop_psa_milestone("C-2", "M1")  # lost in the PSA: healed by the first run
    built: list[str] = []

    def reconciliation() -> Reconciliation:
        built.append("built")
        return Reconciliation(
            contracts=systems.clm,
            erp=systems.erp,
            psa=systems.psa,
            crm=systems.crm,
            uow_factory=records.uow,
            clock=records.clock,
            policy=load_default_reconciliation_policy(),
            ownership=DEFAULT_OWNERSHIP,
            absent_codes=ABSENT_CODES,
            legal_entities={"US01": US01},
            notes=("CRM compared in memory",),
            close=lambda: built.append("closed"),
        )

    caplog.set_level(logging.INFO, logger="contractsync.workflows.reconciliation_schedule")
    worker = build_worker(
        settings, executor_id="reconciler", poll_seconds=0.05, reconciliation=reconciliation
    )
    try:
        wait_until(lambda: len(records.completed()) >= 3, "three scheduled runs recorded")
    finally:
        worker.stop(grace_seconds=5)
    try:
        completed = records.completed()
        events = records.completed_events()
        items = records.open_items()
        runs = scheduled_runs(settings)
    finally:
        records.close()

    summaries = [entry.payload for entry in completed]
    run_ids = [summary["run_id"] for summary in summaries]
    assert all(RUN_ID.match(run_id) for run_id in run_ids), run_ids
    assert len(set(run_ids)) == len(run_ids)  # one record per run
    assert len({summary["scheduled_at"] for summary in summaries}) == len(run_ids)
    assert [entry.subject for entry in completed] == [f"reconciliation:{r}" for r in run_ids]
    assert events == Counter({f"reconciliation:{r}": 1 for r in run_ids})
    # Each recorded run is a run of the engine like any other, done on this worker.
    assert {r for r, run in runs.items() if run.status is RunStatus.SUCCESS} == set(run_ids)
    assert {(runs[r].name, runs[r].queue, runs[r].executor_id) for r in run_ids} == {
        ("reconciliation", "reconciliation", "reconciler")
    }
    assert built.count("built") == built.count("closed") >= len(run_ids)

    first, *later = summaries
    assert first["outcomes"] == {"healed": 1, "exception": 1, "reported": 0}
    assert first["money_at_risk"] == {"USD": "13500.00"}
    assert first["unhealed_money_at_risk"] == {"USD": "3500.00"}
    assert first["not_compared"] == ["CRM compared in memory"]
    for summary in later:  # the PSA stays healed; the ERP edit waits for finance
        assert summary["outcomes"] == {"healed": 0, "exception": 1, "reported": 0}
        assert summary["counts_by_kind"] == {DriftKind.MILESTONE_MISMATCH.value: 1}
    (item,) = items  # raised once, however many runs find it
    assert (item.owner, item.contract_id) == (OwnerRole.FINANCE, "C-1")

    logged = [r.getMessage() for r in caplog.records if "reconciliation sched-" in r.getMessage()]
    for run_id in run_ids:
        (line,) = [message for message in logged if message.startswith(f"reconciliation {run_id}")]
        assert "2 contracts, 1 drift" in line or "2 contracts, 2 drift" in line


def test_a_schedule_turned_off_is_deleted_so_no_process_fires_it_again(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url)
    records = HubRecords(url)
    on = load_settings(database={"url": url}, reconciliation={"schedule": EVERY_SECOND})
    worker = build_worker(on, executor_id="on", poll_seconds=0.05, reconciliation=_clean_job)
    try:
        wait_until(lambda: len(records.completed()) >= 1, "a scheduled run recorded")
    finally:
        worker.stop(grace_seconds=5)
    off = load_settings(database={"url": url})
    worker = build_worker(off, executor_id="off", poll_seconds=0.05)
    try:
        # Until its scheduler next reads the schedules (at most a second after the start),
        # the process may still fire a tick of the deleted one; after that, never.
        time.sleep(1.5)
        settled = len(scheduled_runs(off))
        time.sleep(3)  # three ticks of the old schedule: none of them may start a run
        after = len(scheduled_runs(off))
    finally:
        worker.stop(grace_seconds=5)
        records.close()
    assert after == settled


def test_a_run_that_cannot_reconcile_raises_an_item_whose_retry_replays_that_run(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(url)
    records = HubRecords(url)
    settings = load_settings(database={"url": url}, reconciliation={"schedule": EVERY_SECOND})
    broken = [True]

    def reconciliation() -> Reconciliation:
        if broken[0]:
            raise ConfigError(
                "reconciliation needs a CLM under systems",
                code="config.reconciliation_incomplete",
                remediation="Configure systems with vendor ironclad (CLM).",
            )
        return _clean_job()

    def failed_item() -> ExceptionItem | None:
        found = [item for item in records.open_items() if item.code == RUN_FAILED]
        return found[0] if found else None

    worker = build_worker(
        settings, executor_id="reconciler", poll_seconds=0.05, reconciliation=reconciliation
    )
    try:
        wait_until(lambda: failed_item() is not None, "an item for the failed run")
        item = failed_item()
        assert item is not None
        failed_run = item.evidence["workflow_id"]
        wait_until(
            lambda: scheduled_runs(settings)[failed_run].status is RunStatus.ERROR,
            "the failed run to end in ERROR",
        )
        broken[0] = False  # the integration admin fixed the settings
        tools = build_replay_tools(settings)
        try:
            result = replay(tools, ReplayTarget("exception", item.id), actor="ops@firm")
        finally:
            tools.close()
        replayed = f"{failed_run}#replay-1"
        wait_until(
            lambda: replayed in {entry.payload["run_id"] for entry in records.completed()},
            "the replayed run's summary",
        )
    finally:
        worker.stop(grace_seconds=5)
        records.close()
    assert RUN_ID.match(failed_run)
    assert (item.owner, item.evidence["error"]["code"]) == (
        OwnerRole.INTEGRATION_ADMIN,
        "config.reconciliation_incomplete",
    )
    assert (result.outcome, result.new_workflow_id) == ("replayed", replayed)
    assert scheduled_runs(settings)[replayed].status is RunStatus.SUCCESS


def _clean_job() -> Reconciliation:
    systems = Hub("C-1")
    return Reconciliation(
        contracts=systems.clm,
        erp=systems.erp,
        psa=systems.psa,
        crm=systems.crm,
        uow_factory=systems.uow,
        clock=systems.clock,
        policy=load_default_reconciliation_policy(),
        ownership=DEFAULT_OWNERSHIP,
        absent_codes=ABSENT_CODES,
        legal_entities={"US01": US01},
        notes=(),
        close=lambda: None,
    )


# -- two worker processes, simulators on loopback ----------------------------------------------


@pytest.mark.postgres
def test_two_workers_on_one_database_reconcile_each_tick_once(tmp_path: Path) -> None:
    clm = IroncladSimulator(
        signing_key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    erp = NetSuiteSimulator(service_time_ms=0)
    key_file = tmp_path / "netsuite.pem"
    key_file.write_text(private_key_pem(), encoding="utf-8")
    (tmp_path / "ironclad-secret").write_text("sim-secret", encoding="utf-8")
    with (
        fresh_postgres_database("cs_schedule2") as url,
        running(clm) as clm_url,
        running(erp) as erp_url,
    ):
        upgrade(url)
        with clm.client() as operator:  # one approved contract the ERP does not hold
            document = {
                "customer": Samples.customer("SCHED").model_dump(mode="json"),
                "contract": Samples.contract("SCHED").model_dump(mode="json"),
            }
            launched = operator.post("/_sim/scenarios/launch_workflow", json=document)
            workflow = launched.json()["id"]
            operator.post("/_sim/scenarios/approve_workflow", json={"workflow_id": workflow})
        document = _two_worker_settings(url, clm_url, erp_url, tmp_path)
        records = HubRecords(url)
        try:
            with HubProcesses(tmp_path, document) as hub:
                hub.worker("w1")
                hub.worker("w2")
                both_up = datetime.now(UTC)  # from here on, both processes fire every tick

                def ticks_with_both_up() -> int:
                    ticks = [entry.payload["scheduled_at"] for entry in records.completed()]
                    return sum(datetime.fromisoformat(tick) > both_up for tick in ticks)

                wait_until(lambda: ticks_with_both_up() >= 3, "three ticks with both workers up")
                codes = hub.stop_all()
                logs = hub.log_of("w1") + hub.log_of("w2")
            completed = records.completed()
            items = records.open_items()
            runs = scheduled_runs(load_settings(hub.config))
        finally:
            records.close()

    assert codes == {"w1": 0, "w2": 0}
    run_ids = [entry.payload["run_id"] for entry in completed]
    assert len(set(run_ids)) == len(run_ids)  # no tick reconciled twice
    assert {r for r, run in runs.items() if run.status is RunStatus.SUCCESS} == set(run_ids)
    assert {runs[r].executor_id for r in run_ids} <= {"w1", "w2"}
    for run_id in run_ids:  # one log line per run, from whichever worker ran it
        assert logs.count(f"reconciliation {run_id}: ") == 1
    for entry in completed:
        assert entry.payload["systems"] == {"clm": "clm", "erp": "erp"}
        assert (entry.payload["contracts"], entry.payload["drift"]) == (1, 1)
        assert entry.payload["counts_by_kind"] == {DriftKind.MISSING_IN_ERP.value: 1}
        assert entry.payload["outcomes"]["exception"] == 1
    (item,) = items  # the contract missing in the ERP: one item, not one per run or worker
    assert item.contract_id == "K-SCHED"


def _two_worker_settings(url: str, clm_url: str, erp_url: str, folder: Path) -> dict[str, Any]:
    return {
        "database": {"url": url},
        "engine": {
            "heartbeat_seconds": 0.5,
            "stale_after_seconds": 3.0,
            "queues": {"recorder": {"concurrency": 4}},  # the hooked CLI's test handler
        },
        "reconciliation": {"schedule": EVERY_SECOND},
        "systems": {
            "clm": {
                "vendor": "ironclad",
                "options": {
                    "base_url": clm_url,
                    "client_id": "sim-client",
                    "as_user_email": "integration@contractsync.example",
                    "rate_limit_wait_seconds": 0.05,
                },
                "secrets": {"client_secret": {"file": str(folder / "ironclad-secret")}},
            },
            "erp": {
                "vendor": "netsuite",
                "options": {
                    "account_id": "1234567_SB1",
                    "base_url": erp_url,
                    "client_id": "sim-client",
                    "certificate_id": "sim-certificate",
                },
                "secrets": {"private_key": {"file": str(folder / "netsuite.pem")}},
            },
        },
    }
