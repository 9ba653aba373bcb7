"""Exception actions reach the runs: resolve and dismiss tell the waiting run, retry replays."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.domain.roles import OwnerRole
from contractsync.errors import TransientError
from contractsync.ports.workflows import RunState
from contractsync.services import exception_queue as queue
from contractsync.services.flow_decisions import waiting_evidence
from contractsync.testing.fakes import InMemoryUnitOfWork
from tests.e2e.process_seed import ProcessHub, build_process_hub

RUN = "amendment_rollout:C-9:v2"
TOPIC = "decision C-9"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessHub]:
    yield from build_process_hub(monkeypatch, tmp_path)


def _raise(hub: ProcessHub, evidence: dict[str, object]) -> str:
    with InMemoryUnitOfWork(hub.store, hub.clock) as uow:
        item = queue.raise_exception(
            uow,
            hub.clock,
            code="amendment.routed",
            message="C-9 v2 is outside the limits",
            owner=OwnerRole.FINANCE,
            remediation="Approve or reject it.",
            evidence=evidence,
            contract_id="C-9",
        )
        uow.commit()
    return item.id


def _act(hub: ProcessHub, item_id: str, action: str, body: object, **headers: str) -> object:
    etag = hub.get(f"/api/v1/exceptions/{item_id}").headers["etag"]
    return hub.post(f"/api/v1/exceptions/{item_id}:{action}", body, **{"If-Match": etag, **headers})


def test_resolving_an_item_a_run_waits_on_tells_that_run_once_after_the_commit(hub):
    item_id = _raise(hub, waiting_evidence(RUN, TOPIC))
    seen_by_the_run: list[str] = []
    send = hub.operator.send_decision

    def send_and_look(workflow_id: str, topic: str, payload: dict[str, object], **key: str) -> None:
        with InMemoryUnitOfWork(hub.store, hub.clock) as uow:  # what the woken run reads
            stored = uow.exceptions.get(item_id)
        seen_by_the_run.append(stored.status.value if stored else "missing")
        send(workflow_id, topic, payload, **key)

    hub.operator.send_decision = send_and_look  # type: ignore[method-assign]

    response = _act(hub, item_id, "resolve", {"note": "approved"}, **{"Idempotency-Key": "k1"})
    retried = hub.post(
        f"/api/v1/exceptions/{item_id}:resolve",
        {"note": "approved"},
        **{"If-Match": response.headers["etag"], "Idempotency-Key": "k1"},
    )

    assert response.status_code == 200, response.text
    assert retried.headers.get("idempotent-replayed") == "true"
    (sent,) = hub.operator.delivered
    assert (sent.workflow_id, sent.topic) == (RUN, TOPIC)
    assert sent.payload == {"item_id": item_id, "status": "resolved"}
    assert sent.idempotency_key == f"exception:{item_id}:resolved"
    assert seen_by_the_run == ["resolved"]


def test_dismissing_an_item_a_run_waits_on_tells_that_run(hub):
    item_id = _raise(hub, waiting_evidence(RUN, TOPIC))

    response = _act(hub, item_id, "dismiss", {"reason": "never agreed"})

    assert response.status_code == 200, response.text
    assert [(s.workflow_id, s.payload["status"]) for s in hub.operator.delivered] == [
        (RUN, "dismissed")
    ]


def test_a_second_resolve_is_refused_and_tells_the_run_nothing_more(hub):
    item_id = _raise(hub, waiting_evidence(RUN, TOPIC))
    assert _act(hub, item_id, "resolve", {"note": "approved"}).status_code == 200

    again = _act(hub, item_id, "resolve", {"note": "approved again"})

    assert again.status_code == 422
    assert hub.operator.sends == 1


def test_when_the_run_cannot_be_told_the_resolve_still_succeeds_and_the_failure_is_logged(
    hub, caplog
):
    item_id = _raise(hub, waiting_evidence(RUN, TOPIC))
    hub.operator.failure = TransientError("no engine", code="engine.database_unavailable")

    with caplog.at_level(logging.WARNING, logger="contractsync.services.decision_delivery"):
        response = _act(hub, item_id, "resolve", {"note": "approved"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved"
    assert hub.operator.delivered == []
    assert any(RUN in record.getMessage() for record in caplog.records)


def test_an_item_no_run_waits_on_sends_nothing(hub):
    item_id = hub.seeded.exceptions[0]

    assert _act(hub, item_id, "dismiss", {"reason": "duplicate"}).status_code == 200
    assert hub.operator.sends == 0


def test_retry_replays_the_failed_run_the_item_names_once_through_the_replay_service(hub):
    failed = "milestone_billing:C-9:M1"
    hub.runs.states[failed] = RunState.FAILED
    item_id = _raise(hub, {"workflow_id": failed})

    first = _act(hub, item_id, "retry", None)
    second = _act(hub, item_id, "retry", None)

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["outcome"], body["status"]) == ("replayed", "retried")
    assert body["rerun"] == {"kind": "workflow", "id": f"{failed}#replay-1"}
    assert second.status_code == 409
    assert second.json()["code"] == "replay.already_running"
    assert sorted(hub.runs.states) == [failed, f"{failed}#replay-1"]
    replays = [e for e in hub.store.audit if e.action == "replay"]
    assert [e.actor for e in replays] == ["api:admin", "api:admin"]


def test_retry_of_an_item_whose_message_was_processed_runs_nothing(hub):
    item_id = hub.seeded.exceptions[0]  # its message msg-0 is PROCESSED

    response = _act(hub, item_id, "retry", None)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["outcome"], body["rerun"], body["status"]) == ("already succeeded", None, "open")


def test_retry_of_an_item_a_run_waits_on_says_to_resolve_or_dismiss_it(hub):
    item_id = _raise(hub, waiting_evidence(RUN, TOPIC))

    response = _act(hub, item_id, "retry", None)

    assert response.status_code == 422
    assert response.json()["code"] == "exception.nothing_to_retry"
    assert hub.runs.states == {}
