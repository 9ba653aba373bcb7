"""Done-when (a) through the real engine: 1,000 signed events plus 20 % duplicates, 1,000 effects.

Real processes, nothing faked: a ``contractsync serve`` (API, engine, sweep and relay in one
process) on SQLite, and ``serve --no-workers`` plus two ``contractsync worker`` processes on
PostgreSQL relaying to NATS. The test handler for the ``recorder`` source applies one effect
per message at the effect recorder under its step's idempotency key; the recorder counts
every effect, so a duplicate that slipped through would show as a 1,001st.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.migrate import upgrade
from contractsync.adapters.persistence.tables import inbox
from contractsync.config import load_settings
from contractsync.ports.storage import InboxStatus
from contractsync.testing.effect_recorder import EffectRecorder, RecorderServer
from contractsync.workflows.client import EngineClient
from contractsync.workflows.runs import RunStatus
from tests.integration.hub_processes import HubProcesses, hub_settings, signed
from tests.integration.test_worker_crash import fresh_postgres_database

EVENTS = 1000
RACED, RACE_COPIES = 50, 3  # 50 events sent 3 times at once: 100 duplicates
RESIGNED, REDELIVERED = 60, 40  # new timestamp and signature / byte-identical: 100 more
CLIENT_THREADS = 8


@dataclass(frozen=True)
class Delivery:
    event_id: str
    body: bytes
    headers: dict[str, str] | None = None  # None: signed when sent


def _event(n: int, target: str) -> Delivery:
    event_id = f"evt-{n:04d}"
    document = {
        "specversion": "1.0",
        "id": event_id,
        "source": "flow-test",
        "type": "thing.happened" if n % 2 else "thing.changed",
        "data": {"target": target},
    }
    return Delivery(event_id, json.dumps(document).encode())


def _send(base_url: str, deliveries: list[Delivery], *, race: bool = False) -> list[int]:
    local = threading.local()
    clients: list[httpx.Client] = []
    barriers = {d.event_id: threading.Barrier(RACE_COPIES) for d in deliveries} if race else {}

    def send(delivery: Delivery) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, timeout=60)
            clients.append(local.client)
        headers = delivery.headers or signed(delivery.event_id, delivery.body)
        if race:
            barriers[delivery.event_id].wait(timeout=30)
        return local.client.post(
            "/webhooks/recorder", content=delivery.body, headers=headers
        ).status_code

    try:
        with ThreadPoolExecutor(RACE_COPIES if race else CLIENT_THREADS) as pool:
            return list(pool.map(send, deliveries))
    finally:
        for client in clients:
            client.close()


def _inbox_counts(database_url: str) -> Counter[str]:
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status))
            return Counter({str(status): int(count) for status, count in rows})
    finally:
        engine.dispose()


def _wait_until_processed(database_url: str, *, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        counts = _inbox_counts(database_url)
        if counts[InboxStatus.PROCESSED.value] + counts[InboxStatus.FAILED.value] >= EVENTS:
            return counts
        if time.monotonic() > deadline:
            pytest.fail(f"not quiescent after {timeout}s: {dict(counts)}")
        time.sleep(0.25)


def _storm(base_url: str, target: str) -> list[int]:
    events = [_event(n, target) for n in range(EVENTS)]
    raced, calm = events[:RACED], events[RACED:]
    statuses = _send(base_url, calm)
    statuses += _send(base_url, [d for d in raced for _ in range(RACE_COPIES)], race=True)
    # Byte-identical retries keep their first signature; re-signed ones get a later timestamp.
    identical = [
        Delivery(d.event_id, d.body, signed(d.event_id, d.body)) for d in calm[-REDELIVERED:]
    ]
    time.sleep(1.1)
    statuses += _send(base_url, calm[:RESIGNED] + identical)
    return statuses


def _assert_exactly_once(
    statuses: list[int], recorder: RecorderServer, database_url: str, settings_path: Path
) -> None:
    assert len(statuses) == EVENTS + RACED * (RACE_COPIES - 1) + RESIGNED + REDELIVERED
    assert set(statuses) <= {200, 202}, Counter(statuses)
    assert statuses.count(202) == EVENTS
    stats = recorder.recorder.stats()
    logical = Counter(body["effect"] for body in stats["effects"].values())
    assert len(stats["effects"]) == EVENTS, "one effect per event, not per delivery"
    assert set(logical.values()) == {1}
    assert set(logical) == {f"recorder/evt-{n:04d}" for n in range(EVENTS)}
    counts = _inbox_counts(database_url)
    assert counts == Counter({InboxStatus.PROCESSED.value: EVENTS}), counts
    with EngineClient(load_settings(settings_path)) as client:
        runs = client.list_workflows(prefix="inbox:recorder:")
    assert len(runs) == EVENTS
    assert {run.status for run in runs} == {RunStatus.SUCCESS}


@pytest.fixture
def recorder() -> Iterator[RecorderServer]:
    with RecorderServer(EffectRecorder(latency_seconds=0.01)) as server:
        yield server


def test_an_embedded_serve_on_sqlite_turns_1000_events_and_200_duplicates_into_1000_effects(
    tmp_path: Path, recorder: RecorderServer
) -> None:
    database_url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    upgrade(database_url)
    with HubProcesses(tmp_path, hub_settings(database_url)) as hub:
        base_url = hub.serve(executor_id="embedded")
        started = time.perf_counter()
        statuses = _storm(base_url, recorder.url)
        acknowledged = time.perf_counter() - started
        _wait_until_processed(database_url, timeout=240)
        elapsed = time.perf_counter() - started
        codes = hub.stop_all()
        _assert_exactly_once(statuses, recorder, database_url, hub.config)
    assert codes == {"serve": 0}, hub.log_of("serve")[-2000:]
    print(
        f"\nsqlite embedded: {len(statuses)} deliveries acknowledged in {acknowledged:.1f} s; "
        f"{EVENTS} events processed end to end in {elapsed:.1f} s ({EVENTS / elapsed:.0f}/s, "
        f"incl. a 1.1 s pause); {len(statuses) - EVENTS} duplicates suppressed"
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database("cs_inbox_flow") as url:
        yield url


@pytest.mark.postgres
@pytest.mark.nats
def test_an_api_and_two_workers_on_postgres_and_nats_turn_1000_events_into_1000_effects(
    tmp_path: Path, recorder: RecorderServer, postgres_url: str
) -> None:
    upgrade(postgres_url)
    with HubProcesses(tmp_path, hub_settings(postgres_url, bus="nats")) as hub:
        hub.worker("w1")  # the first worker creates the engine's schema
        hub.worker("w2")
        base_url = hub.serve(no_workers=True)
        started = time.perf_counter()
        statuses = _storm(base_url, recorder.url)
        acknowledged = time.perf_counter() - started
        _wait_until_processed(postgres_url, timeout=240)
        elapsed = time.perf_counter() - started
        codes = hub.stop_all()
        _assert_exactly_once(statuses, recorder, postgres_url, hub.config)
        with EngineClient(load_settings(hub.config)) as client:
            by_worker = Counter(run.executor_id for run in client.list_workflows(prefix="inbox:"))
    assert codes == {"w1": 0, "w2": 0, "serve": 0}
    assert set(by_worker) == {"w1", "w2"}, by_worker
    print(
        f"\npostgres + nats, API + 2 workers: {len(statuses)} deliveries acknowledged in "
        f"{acknowledged:.1f} s; {EVENTS} events processed end to end in {elapsed:.1f} s "
        f"({EVENTS / elapsed:.0f}/s, incl. a 1.1 s pause); runs by worker {dict(by_worker)}; "
        f"{len(statuses) - EVENTS} duplicates suppressed"
    )
