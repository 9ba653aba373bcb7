"""Outbound webhooks: signed, retried, duplicated and reordered as the fault plan says."""

from __future__ import annotations

import base64
import json

import httpx

from contractsync.adapters.signatures.standard_webhooks import StandardWebhooksVerifier
from contractsync.simulators import FaultInjector, FaultPlan, OutboundWebhooks
from contractsync.simulators.webhooks_out import standard_webhooks_signer

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


class Receiver:
    """A webhook target answering from a list of statuses, then 204."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 204)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def outbox(receiver: Receiver, plan: FaultPlan | None = None) -> OutboundWebhooks:
    webhooks = OutboundWebhooks(
        injector=FaultInjector(plan),
        signer_factory=standard_webhooks_signer,
        client=httpx.Client(transport=httpx.MockTransport(receiver)),
        retry_delays=(0.0, 0.0),
    )
    webhooks.subscribe("https://hub.example/webhooks/salesforce", SECRET)
    return webhooks


def test_deliveries_are_signed_so_the_hubs_verifier_accepts_them() -> None:
    receiver = Receiver()
    webhooks = outbox(receiver)
    webhooks.emit("opportunity.won", {"id": "e1", "type": "opportunity.won"}, event_id="e1")
    webhooks.drain()
    request = receiver.received[0]
    verified = StandardWebhooksVerifier([SECRET]).verify(dict(request.headers), request.content)
    assert verified.event_id == "e1"
    assert json.loads(request.content) == {"id": "e1", "type": "opportunity.won"}


def test_a_failed_delivery_is_retried_with_the_same_event_id_until_it_succeeds() -> None:
    receiver = Receiver(500, 503)
    webhooks = outbox(receiver)
    webhooks.emit("x", {"n": 1}, event_id="e1")
    records = webhooks.drain()
    assert [r.outcome for r in records] == ["refused: 500", "refused: 503", "delivered"]
    assert receiver.ids() == ["e1", "e1", "e1"]


def test_a_delivery_is_abandoned_after_the_last_retry() -> None:
    receiver = Receiver(500, 500, 500, 500)
    webhooks = outbox(receiver)
    webhooks.emit("x", {"n": 1})
    assert len(webhooks.drain()) == 3
    assert not webhooks.pending


def test_gone_disables_the_subscription() -> None:
    receiver = Receiver(410)
    webhooks = outbox(receiver)
    webhooks.emit("x", {"n": 1})
    webhooks.drain()
    webhooks.emit("x", {"n": 2})
    webhooks.drain()
    assert len(receiver.received) == 1


def test_duplicates_repeat_the_event_id_and_never_duplicate_themselves() -> None:
    receiver = Receiver()
    webhooks = outbox(receiver, FaultPlan(duplicate_webhook_rate=1.0))
    webhooks.emit("x", {"n": 1}, event_id="e1")
    webhooks.drain()
    assert receiver.ids() == ["e1", "e1"]
    assert [r.is_duplicate for r in webhooks.log] == [False, True]


def test_reordering_shuffles_a_batch_deterministically() -> None:
    def order(seed: int) -> list[str]:
        receiver = Receiver()
        webhooks = outbox(receiver, FaultPlan(seed=seed, reorder_webhooks=True))
        for n in range(8):
            webhooks.emit("x", {"n": n}, event_id=f"e{n}")
        webhooks.drain()
        return receiver.ids()

    assert order(5) == order(5)
    assert order(5) != [f"e{n}" for n in range(8)]
    assert sorted(order(5)) == sorted(f"e{n}" for n in range(8))


def test_schema_drift_reaches_the_webhook_body() -> None:
    receiver = Receiver()
    plan = FaultPlan(drift_extra_fields={"new": True}, drift_renamed_fields={"type": "kind"})
    webhooks = outbox(receiver, plan)
    webhooks.emit("x", {"type": "x"})
    webhooks.drain()
    assert json.loads(receiver.received[0].content) == {"kind": "x", "new": True}


def test_subscriptions_only_get_the_events_they_asked_for() -> None:
    receiver = Receiver()
    webhooks = outbox(receiver)
    webhooks.reset()
    webhooks.subscribe("https://hub.example/a", SECRET, ["opportunity.won"])
    webhooks.emit("account.updated", {})
    webhooks.emit("opportunity.won", {})
    webhooks.drain()
    assert len(receiver.received) == 1
