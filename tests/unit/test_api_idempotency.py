"""Idempotency-Key on POST: replayed once done, 422 for another body, 409 while in flight."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from contractsync.entrypoints.api.idempotency import request_hash
from contractsync.testing.fakes import InMemoryUnitOfWork
from tests.e2e.process_seed import FINANCE_KEY, ProcessHub, build_process_hub


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessHub]:
    yield from build_process_hub(monkeypatch, tmp_path)


def assign_path(hub: ProcessHub) -> str:
    return f"/api/v1/exceptions/{hub.seeded.exceptions[0]}:assign"


def test_the_same_key_and_body_replays_the_first_answer_without_acting_again(hub):
    etag = hub.get(assign_path(hub).removesuffix(":assign")).headers["etag"]
    headers = {"If-Match": etag, "Idempotency-Key": "k-1"}

    first = hub.post(assign_path(hub), {"assignee": "ana"}, **headers)
    again = hub.post(assign_path(hub), {"assignee": "ana"}, **headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["etag"] == first.headers["etag"]
    assigned = [e for e in hub.store.audit if e.action == "exception.assigned"]
    assert len(assigned) == 1


def test_the_same_key_with_another_body_is_refused_with_422(hub):
    headers = {"If-Match": "*", "Idempotency-Key": "k-2"}
    assert hub.post(assign_path(hub), {"assignee": "ana"}, **headers).status_code == 200

    response = hub.post(assign_path(hub), {"assignee": "bo"}, **headers)

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency.key_reused"
    assert hub.get(assign_path(hub).removesuffix(":assign")).json()["assignee"] == "ana"


def test_a_key_is_scoped_to_its_api_key(hub):
    headers = {"If-Match": "*", "Idempotency-Key": "shared"}
    hub.post(assign_path(hub), {"assignee": "ana"}, **headers)

    other = hub.post(assign_path(hub), {"assignee": "bo"}, key=FINANCE_KEY, **headers)

    assert other.status_code == 200
    assert "idempotent-replayed" not in other.headers


def test_while_the_first_request_runs_the_same_key_gets_409(hub):
    body = b'{"assignee":"ana"}'
    with InMemoryUnitOfWork(hub.store, hub.clock) as uow:
        # The first request has claimed the key and is still running.
        uow.idempotency.claim(
            "admin",
            "k-3",
            request_hash=request_hash("POST", assign_path(hub), body),
            abandoned_before=hub.clock.now() - timedelta(minutes=5),
            expired_before=hub.clock.now() - timedelta(hours=24),
        )
        uow.commit()

    response = hub.post(
        assign_path(hub), {"assignee": "ana"}, **{"If-Match": "*", "Idempotency-Key": "k-3"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency.in_flight"
    assert response.headers["retry-after"] == "1"


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(hub):
    with InMemoryUnitOfWork(hub.store, hub.clock) as uow:
        uow.idempotency.claim(
            "admin",
            "k-4",
            request_hash="whatever",
            abandoned_before=hub.clock.now(),
            expired_before=hub.clock.now(),
        )
        uow.commit()
    hub.clock.advance(timedelta(minutes=6))

    response = hub.post(
        assign_path(hub), {"assignee": "ana"}, **{"If-Match": "*", "Idempotency-Key": "k-4"}
    )

    assert response.status_code == 200


def test_a_failed_request_is_not_remembered_so_its_retry_runs(hub):
    headers = {"Idempotency-Key": "k-5"}
    missing = hub.post(assign_path(hub), {"assignee": "ana"}, **headers)  # no If-Match: 428
    assert missing.status_code == 428

    retried = hub.post(assign_path(hub), {"assignee": "ana"}, **headers, **{"If-Match": "*"})

    assert retried.status_code == 200
    assert "idempotent-replayed" not in retried.headers


def test_keys_are_kept_24_hours_then_a_reuse_is_a_new_request(hub):
    headers = {"If-Match": "*", "Idempotency-Key": "k-6"}
    hub.post(assign_path(hub), {"assignee": "ana"}, **headers)
    hub.clock.advance(timedelta(hours=23))
    assert hub.post(assign_path(hub), {"assignee": "bo"}, **headers).status_code == 422

    hub.clock.advance(timedelta(hours=2))

    assert hub.post(assign_path(hub), {"assignee": "bo"}, **headers).status_code == 200


def test_the_same_json_written_differently_is_the_same_request():
    assert request_hash("POST", "/p", b'{"a": 1, "b": 2}') == request_hash(
        "POST", "/p", b'{"b":2,"a":1}'
    )
    assert request_hash("POST", "/p", b'{"a": 1}') != request_hash("POST", "/q", b'{"a": 1}')


def test_a_malformed_key_is_refused_before_anything_runs(hub):
    response = hub.post(
        assign_path(hub), {"assignee": "ana"}, **{"If-Match": "*", "Idempotency-Key": "x" * 300}
    )

    assert response.status_code == 422
    assert hub.store.idempotency == {}
