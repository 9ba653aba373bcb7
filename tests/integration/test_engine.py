"""The durable engine in one process, on SQLite (WAL file) and on PostgreSQL (a fresh database)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.bootstrap import build_workflow_engine
from contractsync.config import DatabaseSettings, EngineSettings, QueueLimits, Settings
from contractsync.errors import ConfigError, RejectedError, TransientError
from contractsync.workflows.engine import Engine
from contractsync.workflows.runs import RunStatus
from contractsync.workflows.steps import external_step, step, wait_for_decision, workflow
from contractsync.workflows.system_database import system_database_url
from tests.integration.test_worker_crash import fresh_postgres_database

calls: Counter[str] = Counter()
failures_left: Counter[str] = Counter()
_lock = threading.Lock()


def _count(name: str) -> int:
    with _lock:
        calls[name] += 1
        return calls[name]


@step("test.fetch")
def fetch(key: str) -> str:
    _count("fetch")
    return f"contract-{key}"


@external_step("test.push", max_attempts=4, interval_seconds=0.01)
def push(contract: str) -> str:
    _count("push")
    with _lock:
        if failures_left[contract] > 0:
            failures_left[contract] -= 1
            raise TransientError("CRM answered 503", retry_after=0.01)
    if contract.endswith("refused"):
        raise RejectedError("CRM refused the account")
    return f"crm-{contract}"


@step("test.notify")
def notify(crm_id: str) -> str:
    _count("notify")
    if crm_id in broken_erp:
        raise RejectedError("ERP rejected the payload")
    return f"erp-{crm_id}"


broken_erp: set[str] = set()


@workflow("test.contract_approved")
def contract_approved(key: str) -> str:
    return notify(push(fetch(key)))


@workflow("test.review")
def review(timeout_seconds: float) -> str:
    decision = wait_for_decision("resolution", timeout_seconds)
    return "timed out: escalate" if decision is None else f"resolved by {decision['by']}"


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    calls.clear()
    failures_left.clear()
    broken_erp.clear()


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    with fresh_postgres_database("cs_engine") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    return Settings(
        database=DatabaseSettings(url=url),
        engine=EngineSettings(queues={"crm": QueueLimits(concurrency=2)}),
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    running = build_workflow_engine(settings, executor_id="test-engine", poll_seconds=0.05)
    yield running
    running.shutdown()


def test_a_duplicate_start_of_a_business_key_runs_the_workflow_once(engine: Engine) -> None:
    first = engine.start(contract_approved, "C1", "C1")
    assert first.result() == "erp-crm-contract-C1"
    second = engine.start(contract_approved, "C1", "C1")
    queued = engine.enqueue("crm", contract_approved, "C1", "C1")

    assert (
        second.workflow_id == queued.workflow_id == first.workflow_id == "test.contract_approved:C1"
    )
    assert second.result() == "erp-crm-contract-C1"
    assert calls == {"fetch": 1, "push": 1, "notify": 1}


def test_a_step_is_retried_on_transient_errors_but_not_on_a_rejection(engine: Engine) -> None:
    failures_left["contract-C2"] = 2
    assert engine.start(contract_approved, "C2", "C2").result() == "erp-crm-contract-C2"
    assert calls["push"] == 3

    calls.clear()
    refused = engine.start(contract_approved, "C3-refused", "C3-refused")
    with pytest.raises(RejectedError):
        refused.result()
    assert calls["push"] == 1
    assert refused.status() is RunStatus.ERROR


def test_a_step_gives_up_after_its_declared_attempts(engine: Engine) -> None:
    failures_left["contract-C4"] = 10
    run = engine.start(contract_approved, "C4", "C4")
    with pytest.raises(Exception, match=r"test\.push"):
        run.result()
    assert calls["push"] == 4
    assert calls["notify"] == 0


def test_a_human_decision_reaches_the_waiting_workflow_and_silence_times_out(
    engine: Engine,
) -> None:
    waiting = engine.start(review, "R1", 30.0)
    silent = engine.start(review, "R2", 0.5)
    time.sleep(0.2)
    engine.send_decision(waiting.workflow_id, "resolution", {"by": "alice"})

    assert waiting.result() == "resolved by alice"
    assert silent.result() == "timed out: escalate"


def test_a_fork_from_step_n_reruns_only_the_steps_from_n(engine: Engine) -> None:
    broken_erp.add("crm-contract-C9")
    failed = engine.start(contract_approved, "C9", "C9")
    with pytest.raises(RejectedError):
        failed.result()
    assert [r.workflow_id for r in engine.list_workflows(status=RunStatus.ERROR)] == [
        failed.workflow_id
    ]
    steps = engine.steps(failed.workflow_id)
    assert [(s.number, s.name) for s in steps] == [
        (1, "test.fetch"),
        (2, "test.push"),
        (3, "test.notify"),
    ]

    broken_erp.clear()
    calls.clear()
    fork = engine.fork_from(failed.workflow_id, 3)
    assert fork.result() == "erp-crm-contract-C9"
    assert calls == {"notify": 1}
    assert fork.workflow_id != failed.workflow_id
    assert failed.status() is RunStatus.ERROR

    calls.clear()
    assert engine.fork_from(failed.workflow_id, 2).result() == "erp-crm-contract-C9"
    assert calls == {"push": 1, "notify": 1}


def test_a_rewind_reruns_a_finished_run_in_place_from_step_n(engine: Engine) -> None:
    run = engine.start(contract_approved, "C10", "C10")
    assert run.result() == "erp-crm-contract-C10"
    calls.clear()

    rewound = engine.rewind(run.workflow_id, 3)

    assert rewound.workflow_id == run.workflow_id
    assert rewound.result() == "erp-crm-contract-C10"
    assert calls == {"notify": 1}


def test_an_unknown_queue_is_a_configuration_error(engine: Engine) -> None:
    with pytest.raises(ConfigError, match="no queue named 'netsuite'"):
        engine.enqueue("netsuite", contract_approved, "C11", "C11")


def test_the_engine_keeps_its_state_beside_sqlite_and_inside_postgresql(tmp_path: Path) -> None:
    sqlite = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path}/var/hub.sqlite"))
    postgres = Settings(database=DatabaseSettings(url="postgresql+psycopg://u@db:5432/hub"))
    explicit = Settings(
        database=DatabaseSettings(url="postgresql://u@db/hub"),
        engine=EngineSettings(system_database_url="postgresql://u@db/hub_dbos"),
    )

    assert system_database_url(sqlite) == f"sqlite:///{tmp_path}/var/hub.dbos.sqlite"
    assert system_database_url(postgres) == "postgresql://u@db:5432/hub"
    assert system_database_url(explicit) == "postgresql://u@db/hub_dbos"
    with pytest.raises(ConfigError, match="in-memory"):
        system_database_url(Settings(database=DatabaseSettings(url="sqlite://")))
