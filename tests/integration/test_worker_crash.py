"""Real ``contractsync worker`` processes killed with SIGKILL: every run completes, no effect twice.

The workers run the probe workflow (three effects on the effect recorder, each under its
step's idempotency key). The recorder counts every POST, so a step re-executed after a kill
shows up as a replay of the same key, never as a second effect.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy.engine import make_url

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import upgrade
from contractsync.adapters.persistence.tables import worker_heartbeats
from contractsync.config import Settings, load_settings
from contractsync.errors import ConfigError
from contractsync.testing.effect_recorder import EffectRecorder, RecorderServer
from contractsync.workflows.client import EngineClient
from contractsync.workflows.heartbeats import Heartbeats, WorkerIdentity
from contractsync.workflows.probe import THREE_EFFECTS
from contractsync.workflows.runs import RunStatus

POSTGRES = os.environ.get(
    "CONTRACTSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# The contractsync command line with the probe workflows registered (bootstrap's hook).
CONTRACTSYNC = [sys.executable, "-m", "contractsync.testing.workflow_hooks"]
QUEUE = "recorder"
# Runs the worker with "die when the test process dies" set, so a test run cut short (a CI
# timeout killing pytest) leaves no worker behind; the setting survives the exec.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGKILL); "
    "sys.exit(1) if os.getppid() == 1 else os.execv(sys.argv[1], sys.argv[1:])"
)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES}: {exc}", pytrace=False)


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A fresh database: the hub tables plus the engine's ``dbos`` schema need one each test."""
    with fresh_postgres_database("cs_workers") as url:
        yield url


class Workers:
    """Start, kill and stop ``contractsync worker`` processes sharing one config file.

    Use as a context manager: whatever still runs at the end is killed, even on a failure.
    """

    def __init__(self, folder: Path, database_url: str, *, concurrency: int) -> None:
        upgrade(database_url)
        self.folder = folder
        self.config = folder / "contractsync.yaml"
        document = {
            "database": {"url": database_url},
            "engine": {
                "heartbeat_seconds": 0.25,
                "stale_after_seconds": 1.5,
                "queues": {QUEUE: {"concurrency": concurrency}},
            },
        }
        self.config.write_text(yaml.safe_dump(document), encoding="utf-8")
        self.settings: Settings = load_settings(self.config)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._spawned: list[subprocess.Popen[bytes]] = []
        self._logs = 0

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_exc: object) -> None:
        for process in self._spawned:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    def start(self, *executor_ids: str) -> None:
        """Start workers (side by side) and wait until each says it is ready."""
        spawned = {executor_id: self._spawn(executor_id) for executor_id in executor_ids}
        deadline = time.monotonic() + 60
        for executor_id, (process, log) in spawned.items():
            ready = f"worker {executor_id} ready (pid {process.pid}"
            while ready not in log.read_text("utf-8", "replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(
                        f"{executor_id} did not start:\n{log.read_text('utf-8', 'replace')}"
                    )
                time.sleep(0.05)
            self.processes[executor_id] = process

    def _spawn(self, executor_id: str) -> tuple[subprocess.Popen[bytes], Path]:
        self._logs += 1
        log = self.folder / f"{executor_id}-{self._logs}.log"
        command = [
            sys.executable,
            "-c",
            _DIE_WITH_PARENT,
            *CONTRACTSYNC,
            "worker",
            "--executor-id",
            executor_id,
            "--config",
            str(self.config),
        ]
        command += ["--poll-seconds", "0.1", "--grace-seconds", "2"]
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        self._spawned.append(process)
        return process, log

    def kill(self, executor_id: str) -> None:
        process = self.processes.pop(executor_id)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> list[int | None]:
        """SIGTERM every worker still running; return their exit codes."""
        codes = []
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(None)
        self.processes.clear()
        return codes


@pytest.fixture
def recorder() -> Iterator[RecorderServer]:
    with RecorderServer(EffectRecorder(latency_seconds=0.2)) as server:
        yield server


def _enqueue(client: EngineClient, jobs: int, target: str) -> list[str]:
    return [
        client.enqueue(QUEUE, THREE_EFFECTS, f"job-{n}", f"job-{n}", target) for n in range(jobs)
    ]


def _pending_on(client: EngineClient, executor_id: str) -> list[str]:
    return [
        run.workflow_id
        for run in client.list_workflows(status=RunStatus.PENDING)
        if run.executor_id == executor_id
    ]


def _kill_mid_workflow(workers: Workers, client: EngineClient, executor_id: str) -> list[str]:
    """Wait until the worker is inside some run, let it go on a random moment, SIGKILL it."""
    deadline = time.monotonic() + 30
    while True:
        while not _pending_on(client, executor_id):
            assert time.monotonic() < deadline, "the worker never picked up a run to be killed in"
            time.sleep(0.02)
        time.sleep(random.uniform(0.0, 0.4))
        # The runs seen may have finished during the random pause: kill only a busy worker.
        if _pending_on(client, executor_id):
            break
    workers.kill(executor_id)
    return _pending_on(client, executor_id)


def _assert_every_effect_once(stats: dict[str, Any], run_ids: list[str]) -> None:
    expected = {f"{run_id}:{step}" for run_id in run_ids for step in (1, 2, 3)}
    assert set(stats["effects"]) == expected
    logical = Counter(body["effect"] for body in stats["effects"].values())
    assert len(logical) == len(expected)
    assert set(logical.values()) == {1}


def test_a_worker_killed_ten_times_and_then_for_good_loses_no_run_and_repeats_no_effect(
    tmp_path: Path, postgres_database_url: str, recorder: RecorderServer
) -> None:
    with (
        Workers(tmp_path, postgres_database_url, concurrency=4) as workers,
        EngineClient(workers.settings) as client,
    ):
        workers.start("w1")
        run_ids = _enqueue(client, 60, recorder.url)
        killed_inside = []
        for kill in range(1, 11):
            killed_inside.append(_kill_mid_workflow(workers, client, "w1"))
            # The survivor starts beside the tenth restart: same effect, one start's wait less.
            workers.start("w1", *(["w2"] if kill == 10 else []))

        orphans = _kill_mid_workflow(workers, client, "w1")
        killed_at = time.monotonic()
        assert orphans, "w1 died holding no run, so there was nothing for w2 to recover"
        client.wait_until_finished(orphans, timeout_seconds=60)
        recovered_after = time.monotonic() - killed_at
        runs = client.wait_until_finished(run_ids, timeout_seconds=120)
        exit_codes = workers.stop_all()

    assert exit_codes == [0], "a SIGTERM stops a worker cleanly"
    assert all(killed_inside), "every kill hit a worker in the middle of a run"
    assert {run.status for run in runs} == {RunStatus.SUCCESS}
    by_id = {run.workflow_id: run for run in runs}
    assert {by_id[run_id].executor_id for run_id in orphans} == {"w2"}
    stats = recorder.recorder.stats()
    _assert_every_effect_once(stats, run_ids)
    replays = sum(stats["requests"].values()) - len(stats["effects"])
    print(
        f"\n{len(orphans)} orphaned run(s) finished by w2 {recovered_after:.1f}s after the "
        f"final kill; {replays} step re-execution(s) were absorbed by idempotency keys"
    )


def test_a_sqlite_worker_killed_ten_times_loses_no_run_and_repeats_no_effect(
    tmp_path: Path, recorder: RecorderServer
) -> None:
    # SQLite has one writer, hence one worker, killed and restarted ten times like the
    # PostgreSQL worker above.
    with (
        Workers(tmp_path, f"sqlite:///{tmp_path / 'hub.sqlite'}", concurrency=4) as workers,
        EngineClient(workers.settings) as client,
    ):
        workers.start("solo")
        run_ids = _enqueue(client, 40, recorder.url)
        killed_inside = []
        for _ in range(10):
            killed_inside.append(_kill_mid_workflow(workers, client, "solo"))
            workers.start("solo")
        runs = client.wait_until_finished(run_ids, timeout_seconds=120)
        exit_codes = workers.stop_all()

    assert exit_codes == [0]
    assert all(killed_inside)
    assert {run.status for run in runs} == {RunStatus.SUCCESS}
    _assert_every_effect_once(recorder.recorder.stats(), run_ids)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def heartbeats(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Heartbeats]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_database_url")
    upgrade(url)
    hub = create_engine_for(url)
    yield Heartbeats(hub, worker_heartbeats, stale_after_seconds=1.0)
    hub.dispose()


def _dead_pid() -> int:
    probe = subprocess.Popen(["true"])
    probe.wait()
    return probe.pid


def test_an_executor_id_held_by_a_live_process_on_this_host_is_refused(
    heartbeats: Heartbeats,
) -> None:
    host = socket.gethostname()
    heartbeats.claim(WorkerIdentity("w1", host, os.getpid()), wait_seconds=0)
    with pytest.raises(ConfigError, match="in use by pid"):
        heartbeats.claim(WorkerIdentity("w1", host, os.getppid()), wait_seconds=5)


def test_a_restarted_worker_takes_back_the_id_of_its_dead_process_at_once(
    heartbeats: Heartbeats,
) -> None:
    host = socket.gethostname()
    heartbeats.claim(WorkerIdentity("w1", host, _dead_pid()), wait_seconds=0)
    heartbeats.claim(WorkerIdentity("w1", host, os.getpid()), wait_seconds=0)
    (row,) = heartbeats.workers()
    assert (row.pid, row.is_stale) == (os.getpid(), False)


def test_an_id_kept_fresh_from_another_host_is_waited_out_until_it_goes_stale(
    heartbeats: Heartbeats,
) -> None:
    elsewhere = WorkerIdentity("w1", "other-host", 4242)
    heartbeats.claim(elsewhere, wait_seconds=0)
    with pytest.raises(ConfigError, match="other-host"):
        heartbeats.claim(WorkerIdentity("w1", socket.gethostname(), os.getpid()), wait_seconds=0)

    heartbeats.claim(WorkerIdentity("w1", socket.gethostname(), os.getpid()), wait_seconds=5)
    assert [row.host for row in heartbeats.workers()] == [socket.gethostname()]


def test_only_stale_workers_are_offered_for_recovery_and_then_forgotten(
    heartbeats: Heartbeats,
) -> None:
    me = WorkerIdentity("me", socket.gethostname(), os.getpid())
    gone = WorkerIdentity("gone", "other-host", 1)
    heartbeats.claim(me, wait_seconds=0)
    heartbeats.claim(gone, wait_seconds=0)
    heartbeats.claim(WorkerIdentity("alive", "other-host", 2), wait_seconds=0)
    heartbeats.release(gone)

    with heartbeats.stale_executors(me) as dead:
        assert dead == ["gone"]
    with heartbeats.stale_executors(me) as dead:
        assert dead == []
    assert [row.executor_id for row in heartbeats.workers()] == ["alive", "me"]
