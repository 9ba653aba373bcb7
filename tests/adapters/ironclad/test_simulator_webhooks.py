"""Ironclad webhooks from the simulator, checked as Ironclad documents them.

The signature is verified with a re-implementation of Ironclad's Node sample
(``crypto.createVerify(signAlgorithm).update(eventId).update(JSON.stringify(body))
.update(nonce).verify(publicKey, signature, encoding)``) written with ``cryptography``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from contractsync.adapters.ingress import IRONCLAD, parse_webhook
from contractsync.adapters.signatures import IroncladVerifier
from contractsync.simulators import FaultPlan
from contractsync.simulators.ironclad import IroncladSimulator
from tests.adapters.ironclad.conftest import HOOK_URL, Receiver, headers, launch

API = "/public/api/v1"


def register(http: httpx.Client, events: list[str] | None = None, url: str = HOOK_URL) -> Any:
    body = {"events": events or ["*"], "targetURL": url}
    return http.post(f"{API}/webhooks", json=body, headers=headers(http))


def node_style_verify(pem: str, request: httpx.Request) -> bool:
    """Ironclad's documented verification, step by step."""
    event_id = request.headers["X-Ironclad-Webhook-Event-Id"]
    verification = json.loads(request.headers["X-Ironclad-Webhook-Verification"])
    body = json.loads(request.content)
    # JSON.stringify(body): compact separators, non-ASCII kept as is.
    stringified = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    data = event_id.encode() + stringified.encode() + verification["nonce"].encode()
    assert verification["signAlgorithm"] in ("RSA-SHA256", "sha256")
    assert verification["encoding"] == "base64"
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(
            base64.b64decode(verification["signature"]), data, padding.PKCS1v15(), hashes.SHA256()
        )
    except Exception:  # noqa: BLE001 - any failure means "not verified"
        return False
    return True


def approved(sim: IroncladSimulator, receiver: Receiver) -> tuple[str, str]:
    with sim.client() as http:
        assert register(http, ["workflow_approval_status_changed"]).status_code == 201
        pem = http.get(f"{API}/webhooks/verification-key", headers=headers(http)).text
        wid = launch(http)
        http.post("/_sim/scenarios/approve_workflow", json={"workflow_id": wid})
    sim.webhooks.drain()
    return wid, pem


def test_registration_answers_the_webhook_model(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        created = register(http, ["workflow_completed"])
        again = register(http, ["workflow_completed"])
        plain = register(http, url="http://hub.example/hook")
        listed = http.get(f"{API}/webhooks", headers=headers(http)).json()
    assert created.status_code == 201
    model = created.json()
    assert model["targetURL"] == HOOK_URL
    assert model["status"] == "enabled"
    assert model["events"] == ["workflow_completed"]
    assert {"companyId", "statusLastUpdatedAt", "consecutiveFailureCount"} <= set(model)
    assert (again.status_code, again.json()["param"]) == (400, "targetURL")
    assert (plain.status_code, plain.json()["param"]) == (400, "targetURL")
    assert set(listed) == {"page", "pageSize", "list"}  # no count on the webhooks list


def test_delete_answers_204_and_stops_deliveries(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    with sim.client() as http:
        hook = register(http).json()
        deleted = http.delete(f"{API}/webhooks/{hook['id']}", headers=headers(http))
        launch(http)
    sim.webhooks.drain()
    assert deleted.status_code == 204
    assert receiver.requests == []


def test_the_verification_key_is_pem_text(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        answer = http.get(f"{API}/webhooks/verification-key", headers=headers(http))
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith("-----BEGIN PUBLIC KEY-----")


def test_an_approval_sends_a_thin_event_signed_as_documented(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    wid, pem = approved(sim, receiver)
    assert len(receiver.requests) == 2  # legal, then finance
    for request in receiver.requests:
        assert node_style_verify(pem, request)
        body = json.loads(request.content)
        assert request.content == json.dumps(body, separators=(",", ":")).encode()
        assert set(body) == {"companyID", "payload", "timestamp", "webhookID"}
        assert body["payload"]["event"] == "workflow_approval_status_changed"
        assert body["payload"]["status"] == "approved"
        assert body["payload"]["workflowID"] == wid
    approvers = [json.loads(r.content)["payload"]["approvalID"] for r in receiver.requests]
    assert approvers == ["legal", "finance"]


def test_a_tampered_body_fails_the_documented_verification(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    _, pem = approved(sim, receiver)
    original = receiver.requests[0]
    tampered = httpx.Request(
        "POST",
        HOOK_URL,
        headers=original.headers,
        content=original.content.replace(b"approved", b"pending"),
    )
    assert not node_style_verify(pem, tampered)


def test_deliveries_pass_the_hub_verifier_and_its_ironclad_shape(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    _, pem = approved(sim, receiver)
    verifier = IroncladVerifier([pem])
    for request in receiver.requests:
        verified = verifier.verify(dict(request.headers), request.content)
        parsed = parse_webhook(IRONCLAD, request.content, verified_id=verified.event_id)
        assert parsed.unknown_fields == ()
        assert parsed.missing_fields == ()
        assert parsed.event_id == request.headers["X-Ironclad-Webhook-Event-Id"]


def test_launch_complete_and_amend_emit_their_events(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    from tests.adapters.ironclad.conftest import document

    with sim.client() as http:
        register(http)
        wid = launch(http)
        http.post("/_sim/scenarios/approve_workflow", json={"workflow_id": wid})
        http.post("/_sim/scenarios/complete_workflow", json={"workflow_id": wid})
        amended = document("01-harborview-erp-rollout.yaml")
        amended["contract"]["version"] = 2
        http.post("/_sim/scenarios/amend_workflow", json={"workflow_id": wid, **amended})
    sim.webhooks.drain()
    events = [json.loads(r.content)["payload"]["event"] for r in receiver.requests]
    assert events == [
        "workflow_launched",
        "workflow_approval_status_changed",
        "workflow_approval_status_changed",
        "workflow_completed",
        "workflow_updated",
        "workflow_approval_status_changed",
        "workflow_approval_status_changed",
    ]


def test_a_failed_delivery_is_retried_with_the_same_event_id(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    with sim.client() as http:
        register(http, ["workflow_launched"])
        launch(http)
    sim.webhooks.drain()
    ids = {r.headers["X-Ironclad-Webhook-Event-Id"] for r in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(ids) == 1
    with sim.client() as http:
        hook = http.get(f"{API}/webhooks", headers=headers(http)).json()["list"][0]
    assert hook["consecutiveFailureCount"] == 0


def test_a_delivery_is_abandoned_after_ten_retries(
    sim: IroncladSimulator, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 20
    with sim.client() as http:
        register(http, ["workflow_launched"])
        launch(http)
        sim.webhooks.drain(max_rounds=30)
        hook = http.get(f"{API}/webhooks", headers=headers(http)).json()["list"][0]
    assert len(receiver.requests) == 11  # the first attempt and ten retries
    assert hook["consecutiveFailureCount"] == 11


def test_a_410_disables_the_webhook(sim: IroncladSimulator, receiver: Receiver) -> None:
    receiver.statuses = [410]
    with sim.client() as http:
        register(http)
        launch(http, workflow_id="a" * 24)
        sim.webhooks.drain()
        launch(http, workflow_id="b" * 24)
        sim.webhooks.drain()
        hook = http.get(f"{API}/webhooks", headers=headers(http)).json()["list"][0]
    assert len(receiver.requests) == 1
    assert hook["status"] == "disabledBySystem"


def test_duplicates_and_reordering_keep_event_ids_and_signatures(
    make_sim: Callable[..., IroncladSimulator], receiver: Receiver
) -> None:
    sim = make_sim(faults=FaultPlan(seed=3, duplicate_webhook_rate=1.0, reorder_webhooks=True))
    with sim.client() as http:
        register(http, ["workflow_launched"])
        pem = http.get(f"{API}/webhooks/verification-key", headers=headers(http)).text
        launched = [launch(http, workflow_id=f"{n:024x}") for n in range(1, 7)]
    sim.webhooks.drain()
    workflows = [json.loads(r.content)["payload"]["workflowID"] for r in receiver.requests]
    event_ids = [r.headers["X-Ironclad-Webhook-Event-Id"] for r in receiver.requests]
    assert len(receiver.requests) == 12
    assert len(set(event_ids)) == 6  # each event twice, under the same id
    assert workflows[:6] != launched  # the batch was shuffled
    assert all(node_style_verify(pem, r) for r in receiver.requests)
