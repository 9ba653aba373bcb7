"""Exception actions through the API: ETag on GET, If-Match required (428) and checked (412)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.ports.storage import InboxStatus
from contractsync.ports.workflows import RunState
from contractsync.testing.fakes import InMemoryUnitOfWork
from tests.e2e.process_seed import ProcessHub, build_process_hub


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessHub]:
    yield from build_process_hub(monkeypatch, tmp_path)


def item_path(hub: ProcessHub, index: int = 0) -> str:
    return f"/api/v1/exceptions/{hub.seeded.exceptions[index]}"


def test_reading_an_item_gives_its_etag_and_the_same_etag_until_it_changes(hub):
    first = hub.get(item_path(hub))
    again = hub.get(item_path(hub))

    assert first.status_code == 200
    assert first.headers["etag"].startswith('"')
    assert first.headers["etag"] == again.headers["etag"]


def test_an_action_without_if_match_is_refused_with_428_and_changes_nothing(hub):
    before = hub.get(item_path(hub)).json()

    response = hub.post(item_path(hub) + ":assign", {"assignee": "ana"})

    assert response.status_code == 428
    assert response.json()["code"] == "precondition.required"
    assert hub.get(item_path(hub)).json() == before


def test_an_action_with_the_current_etag_applies_audits_and_returns_the_new_etag(hub):
    etag = hub.get(item_path(hub)).headers["etag"]

    response = hub.post(item_path(hub) + ":assign", {"assignee": "ana"}, **{"If-Match": etag})

    assert response.status_code == 200, response.text
    assert response.json()["assignee"] == "ana"
    assert response.json()["status"] == "assigned"
    assert response.headers["etag"] != etag
    assert response.headers["etag"] == hub.get(item_path(hub)).headers["etag"]
    audit = [e for e in hub.store.audit if e.action == "exception.assigned"]
    assert [e.actor for e in audit] == ["api:admin"]


def test_an_action_with_a_stale_etag_is_refused_with_412_and_changes_nothing(hub):
    stale = hub.get(item_path(hub)).headers["etag"]
    fresh = hub.post(item_path(hub) + ":assign", {"assignee": "ana"}, **{"If-Match": stale})
    assert fresh.status_code == 200

    response = hub.post(item_path(hub) + ":dismiss", {"reason": "dup"}, **{"If-Match": stale})

    assert response.status_code == 412
    assert response.json()["code"] == "precondition.failed"
    assert hub.get(item_path(hub)).json()["status"] == "assigned"


def test_resolve_retry_and_dismiss_move_the_item_and_announce_it(hub):
    def act(index: int, action: str, body: dict[str, object] | None) -> dict[str, object]:
        etag = hub.get(item_path(hub, index)).headers["etag"]
        response = hub.post(item_path(hub, index) + f":{action}", body, **{"If-Match": etag})
        assert response.status_code == 200, response.text
        return response.json()

    with InMemoryUnitOfWork(hub.store, hub.clock) as uow:  # msg-0's run failed
        uow.inbox.mark(
            "msg-0",
            InboxStatus.FAILED,
            only_from={InboxStatus.PROCESSED},
            workflow_id="inbox:ironclad:wf-0",
        )
        uow.commit()
    hub.runs.states["inbox:ironclad:wf-0"] = RunState.FAILED

    retried = act(0, "retry", None)
    resolved = act(1, "resolve", {"note": "rate added", "corrected_data": {"rate": "1"}})
    dismissed = act(2, "dismiss", {"reason": "duplicate of another item"})

    assert retried["status"] == "retried"
    assert retried["outcome"] == "replayed"
    assert retried["rerun"] == {"kind": "workflow", "id": "inbox:ironclad:wf-0#replay-1"}
    assert resolved["status"] == "resolved"
    assert dismissed["status"] == "dismissed"
    types = [e.event.type.value for e in hub.store.outbox]
    assert types.count("exception.resolved") == 2


def test_an_action_the_item_does_not_allow_is_a_422_problem(hub):
    etag = hub.get(item_path(hub)).headers["etag"]
    hub.post(item_path(hub) + ":dismiss", {"reason": "no"}, **{"If-Match": etag})
    etag = hub.get(item_path(hub)).headers["etag"]

    response = hub.post(item_path(hub) + ":resolve", {"note": "late"}, **{"If-Match": etag})

    assert response.status_code == 422
    assert response.json()["code"] == "exception.illegal_action"


def test_if_match_star_acts_on_whatever_version_is_current_and_unknown_items_are_404(hub):
    assert (
        hub.post(item_path(hub) + ":assign", {"assignee": "bo"}, **{"If-Match": "*"}).status_code
        == 200
    )
    missing = hub.post("/api/v1/exceptions/EX-NOPE:assign", {"assignee": "bo"}, **{"If-Match": "*"})
    assert missing.status_code == 404
    assert missing.json()["code"] == "exception.not_found"


def test_the_list_filters_by_status_owner_and_contract(hub):
    contract = hub.seeded.contracts[3]

    by_contract = hub.get("/api/v1/exceptions", contract_id=contract).json()["items"]
    open_finance = hub.get("/api/v1/exceptions", status="open", owner="finance").json()["items"]
    resolved = hub.get("/api/v1/exceptions", status="resolved").json()["items"]

    assert [i["contract_id"] for i in by_contract] == [contract]
    assert len(open_finance) == len(hub.seeded.exceptions)
    assert resolved == []
