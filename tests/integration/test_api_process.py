"""The process API's key flows on the real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from contractsync.adapters.persistence.engine import create_engine_for
from contractsync.adapters.persistence.tables import audit_log, outbox, record_versions
from contractsync.bootstrap import build_api
from contractsync.config import Settings
from contractsync.entrypoints.api import create_app
from contractsync.testing.fakes import FixedClock, RecordingDispatcher
from tests.e2e.process_seed import ADMIN_KEY, LEGAL_KEY, Seeded, api_settings, bearer, seed_hub


@dataclass
class SqlHub:
    client: TestClient
    seeded: Seeded
    clock: FixedClock
    url: str
    container: object

    def get(self, path: str, key: str = ADMIN_KEY, **params: object) -> object:
        return self.client.get(path, headers=bearer(key), params=params or None)

    def post(self, path: str, body: object, key: str = ADMIN_KEY, **headers: str):
        return self.client.post(path, json=body, headers={**bearer(key), **headers})


@pytest.fixture
def hub(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlHub]:
    settings = Settings.model_validate(
        {"database": {"url": database_url}, "api": api_settings(monkeypatch)}
    )
    clock = FixedClock()
    container = build_api(settings, dispatcher=RecordingDispatcher(), clock=clock)
    seeded = seed_hub(container.uow_factory, clock)
    with TestClient(create_app(container)) as client:
        yield SqlHub(client, seeded, clock, database_url, container)
    container.close()


def counts(url: str) -> tuple[int, int, int]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return tuple(  # type: ignore[return-value]
                connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (record_versions, outbox, audit_log)
            )
    finally:
        engine.dispose()


def test_pages_walk_every_contract_and_event_once_with_filters_in_sql(hub):
    for path, key in (("/api/v1/contracts", "id"), ("/api/v1/events", "seq")):
        walked, cursor = [], None
        while True:
            body = hub.get(path, limit=2, **({"cursor": cursor} if cursor else {})).json()
            walked += [item[key] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        everything = [item[key] for item in hub.get(path, limit=200).json()["items"]]
        assert walked == everything
        assert len(set(walked)) == len(walked) > 2
    customer = hub.seeded.cases[hub.seeded.contracts[2]].customer.id
    by_customer = hub.get("/api/v1/contracts", customer_id=customer).json()["items"]
    assert [c["id"] for c in by_customer] == [hub.seeded.contracts[2]]
    projects = hub.get("/api/v1/projects", contract_id=hub.seeded.contracts[1]).json()["items"]
    assert [p["id"] for p in projects] == [f"P-{hub.seeded.contracts[1]}"]


def test_exception_actions_need_a_fresh_etag_and_are_idempotent_per_key(hub):
    path = f"/api/v1/exceptions/{hub.seeded.exceptions[0]}"
    etag = hub.get(path).headers["etag"]

    assert hub.post(path + ":assign", {"assignee": "ana"}).status_code == 428
    first = hub.post(
        path + ":assign", {"assignee": "ana"}, **{"If-Match": etag, "Idempotency-Key": "k"}
    )
    replay = hub.post(
        path + ":assign", {"assignee": "ana"}, **{"If-Match": etag, "Idempotency-Key": "k"}
    )
    reused = hub.post(
        path + ":assign", {"assignee": "bo"}, **{"If-Match": etag, "Idempotency-Key": "k"}
    )
    stale = hub.post(path + ":dismiss", {"reason": "dup"}, **{"If-Match": etag})

    assert first.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert reused.json()["code"] == "idempotency.key_reused"
    assert stale.status_code == 412
    assert hub.get(path).headers["etag"] == first.headers["etag"]


def test_of_two_racing_claims_of_one_key_exactly_one_wins(hub):
    results: list[object] = []
    barrier = threading.Barrier(2)

    def claim() -> None:
        barrier.wait()
        now = hub.clock.now()
        with hub.container.uow_factory() as uow:
            found = uow.idempotency.claim(
                "admin",
                "race",
                request_hash="h",
                abandoned_before=now - timedelta(minutes=5),
                expired_before=now - timedelta(hours=24),
            )
            uow.commit()
        results.append(found)

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(results) == 2
    assert results.count(None) == 1
    [loser] = [r for r in results if r is not None]
    assert loser.is_in_flight


def test_a_dry_run_writes_nothing_and_prices_stay_masked_for_keys_without_the_scope(hub):
    contract = hub.seeded.contracts[1]
    amendment = hub.seeded.cases[contract].amendments[0].amendment.model_dump(mode="json")
    before = counts(hub.url)

    plan = hub.post(f"/api/v1/contracts/{contract}/amendments:plan", {"amendment": amendment})

    assert plan.status_code == 200, plan.text
    assert plan.json()["decision"]["rule_id"]
    assert counts(hub.url) == before
    for path in ("/api/v1/contracts", "/api/v1/rate-cards", "/api/v1/exceptions", "/api/v1/events"):
        text = hub.get(path, key=LEGAL_KEY, limit=200).text
        assert not [c for c in hub.seeded.canaries if c in text], path


def test_lineage_reads_versions_refs_messages_and_events_in_time_order(hub):
    contract = hub.seeded.contracts[0]

    lineage = hub.get(f"/api/v1/contracts/{contract}/lineage", limit=200).json()

    stamps = [item["at"] for item in lineage["items"]]
    assert stamps == sorted(stamps)
    assert {item["kind"] for item in lineage["items"]} == {
        "inbox_message",
        "version",
        "ref_linked",
        "exception",
        "event",
    }
    assert len(lineage["refs"]) == 3
