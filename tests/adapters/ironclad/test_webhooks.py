"""Reading Ironclad's stored events into what the hub acts on."""

from __future__ import annotations

import pytest

from contractsync.adapters.ironclad.webhooks import read_event, read_event_body
from contractsync.errors import DataError
from contractsync.simulators.ironclad import IroncladSimulator
from tests.adapters.ironclad.conftest import HOOK_URL, Receiver, headers, launch


def test_simulated_deliveries_read_as_workflow_events(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    with sim.client() as http:
        http.post(
            "/public/api/v1/webhooks",
            json={"events": ["*"], "targetURL": HOOK_URL},
            headers=headers(http),
        )
        wid = launch(http)
        http.post("/_sim/scenarios/approve_workflow", json={"workflow_id": wid})
        http.post("/_sim/scenarios/complete_workflow", json={"workflow_id": wid})
    sim.webhooks.drain()
    events = [
        read_event_body(r.content, event_id=r.headers["X-Ironclad-Webhook-Event-Id"])
        for r in receiver.requests
    ]
    assert [e.event for e in events] == [
        "workflow_launched",
        "workflow_approval_status_changed",
        "workflow_approval_status_changed",
        "workflow_completed",
    ]
    assert {e.workflow.id for e in events} == {wid}
    assert [e.may_approve_contract for e in events] == [False, True, True, True]
    assert events[1].approval_id == "legal"
    assert events[1].occurred_at is not None


def test_the_documented_approval_example_reads() -> None:
    payload = {
        "companyID": "674f5545728c89fc7fabd5ec",
        "payload": {
            "approvalID": "approver137e",
            "approvalName": "Legal",
            "event": "workflow_approval_status_changed",
            "status": "approved",
            "userEmail": "",
            "userID": "67520d8a",
            "workflowID": "67535b84",
        },
        "timestamp": "2024-12-06T20:52:19.625Z",
        "webhookID": "67535d36de552a07db17c508",
    }
    event = read_event(payload, event_id="evt-1")
    assert event.workflow.id == "67535b84"
    assert event.approval_status == "approved"
    assert event.may_approve_contract


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b'{"payload": {"event": "workflow_comment_added", "workflowID": "w"}}',
            "ironclad.event_unsupported",
        ),
        (b'{"payload": {"event": "workflow_completed"}}', "ironclad.event_invalid"),
        (b'{"payload": "thin"}', "ironclad.event_invalid"),
        (b"[1]", "ironclad.event_invalid"),
        (b"not json", "ironclad.event_invalid"),
    ],
)
def test_unreadable_events_are_data_errors(body: bytes, code: str) -> None:
    with pytest.raises(DataError) as caught:
        read_event_body(body, event_id="evt-1")
    assert caught.value.code == code
