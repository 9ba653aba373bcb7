"""POST /webhooks/{source} through the real app, built by bootstrap with in-memory fakes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from httpx import Response

from contractsync.adapters.persistence.migrate import upgrade
from contractsync.adapters.signatures import docusign_connect, ironclad, standard_webhooks
from contractsync.bootstrap import build_api
from contractsync.config import Settings
from contractsync.entrypoints.api import create_app
from contractsync.entrypoints.serve import DispatchSweep
from contractsync.errors import ConfigError, ConflictError, DataError, TransientError
from contractsync.ports.storage import InboxMessage, InboxStatus
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
FORGED_SECRET = "whsec_" + base64.b64encode(bytes(range(1, 33))).decode()
CONNECT_KEY = "docusign-connect-key-0123456789-abcdefghij"
LIMIT = 4096
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code", "remediation"}


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def cloud_event(event_id: str, **extra: object) -> bytes:
    event = {"specversion": "1.0", "id": event_id, "source": "sim", "type": "opportunity.won"}
    return json.dumps(event | extra).encode()


def connect_body(envelope: str = "env-1", **extra: object) -> bytes:
    message = {
        "event": "envelope-completed",
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/acc/envelopes/{envelope}",
        "retryCount": 0,
        "configurationId": 10140648,
        "generatedDateTime": "2026-01-05T09:00:00.0000000Z",
        "data": {"accountId": "acc", "userId": "u", "envelopeId": envelope},
    }
    return json.dumps(message | extra, indent=2).encode()


def ironclad_body(workflow: str = "wf-1") -> bytes:
    body = {
        "companyID": "605b9829cdd37d296123f4b4",
        "payload": {"event": "workflow_completed", "workflowID": workflow, "templateID": "t"},
        "timestamp": "2026-01-05T09:00:00.000Z",
        "webhookID": "611fb96cb670f852d58db210",
    }
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Hub:
    client: TestClient
    store: InMemoryStore
    clock: FixedClock
    dispatcher: RecordingDispatcher

    def post_standard(
        self,
        body: bytes,
        *,
        event_id: str = "evt-1",
        secret: str | list[str] = SECRET,
        age: int = 0,
        source: str = "salesforce",
        drop: str | None = None,
    ) -> Response:
        sent_at = int(self.clock.now().timestamp()) - age
        headers = standard_webhooks.sign(secret, event_id, sent_at, body)
        headers.pop(drop or "", None)
        return self.post(source, body, headers)

    def post(self, source: str, body: bytes, headers: dict[str, str]) -> Response:
        return self.client.post(
            f"/webhooks/{source}",
            content=body,
            headers={"Content-Type": "application/json", **headers},
        )

    def inbox(self) -> list[InboxMessage]:
        return list(self.store.inbox.values())

    def rejections(self) -> list[str]:
        return [e.payload["reason"] for e in self.store.audit if e.action == "webhook.rejected"]


def hub_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TEST_SALESFORCE_SECRET", SECRET)
    monkeypatch.setenv("TEST_SALESFORCE_OLD_SECRET", OLD_SECRET)
    monkeypatch.setenv("TEST_CONNECT_KEY", CONNECT_KEY)
    pem = tmp_path / "ironclad.pem"
    pem.write_text(public_pem(rsa_key("ironclad")))
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'hub.sqlite'}"},
            "ingress": {
                "max_body_bytes": LIMIT,
                "sources": {
                    "salesforce": {
                        "scheme": "standard_webhooks",
                        "secrets": [
                            {"env": "TEST_SALESFORCE_SECRET"},
                            {"env": "TEST_SALESFORCE_OLD_SECRET"},
                        ],
                    },
                    "docusign": {
                        "scheme": "docusign_connect",
                        "secrets": [{"env": "TEST_CONNECT_KEY"}],
                    },
                    "ironclad": {"scheme": "ironclad", "secrets": [{"file": str(pem)}]},
                },
            },
        }
    )


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    clock, store, dispatcher = FixedClock(), InMemoryStore(), RecordingDispatcher()
    container = build_api(
        hub_settings(tmp_path, monkeypatch),
        uow_factory=lambda: InMemoryUnitOfWork(store, clock),
        dispatcher=dispatcher,
        clock=clock,
    )
    with TestClient(create_app(container)) as client:
        yield Hub(client, store, clock, dispatcher)


def assert_problem(response: Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, object] = response.json()
    assert set(problem) >= PROBLEM_FIELDS
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"] == f"urn:contractsync:problem:{code}"
    assert problem["instance"] == response.request.url.path
    assert problem["title"]
    assert problem["detail"]
    assert problem["remediation"]
    return problem


# --- accepted, duplicate ----------------------------------------------------------------------


def test_a_valid_webhook_is_stored_then_acknowledged_202_and_its_workflow_dispatched(hub):
    response = hub.post_standard(cloud_event("evt-1"))

    assert response.status_code == 202
    [message] = hub.inbox()
    assert response.json() == {"status": "accepted", "id": message.id}
    assert (message.source, message.event_id, message.event_type) == (
        "salesforce",
        "evt-1",
        "opportunity.won",
    )
    assert message.body == cloud_event("evt-1")
    assert "webhook-signature" not in message.headers
    assert message.status is InboxStatus.DISPATCHED
    assert hub.dispatcher.calls == ["inbox:salesforce:evt-1"]


def test_a_duplicate_gets_200_and_neither_a_second_row_nor_a_second_dispatch(hub):
    first = hub.post_standard(cloud_event("evt-1"))
    hub.clock.advance(timedelta(seconds=40))
    again = hub.post_standard(cloud_event("evt-1"))  # re-signed with a new timestamp

    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "id": first.json()["id"]}
    assert len(hub.inbox()) == 1
    assert hub.dispatcher.calls == ["inbox:salesforce:evt-1"]


def test_a_signature_by_the_previous_secret_is_accepted_during_a_rotation(hub):
    assert hub.post_standard(cloud_event("evt-1"), secret=OLD_SECRET).status_code == 202
    both = hub.post_standard(cloud_event("evt-2"), event_id="evt-2", secret=[OLD_SECRET, SECRET])
    assert both.status_code == 202


# --- rejected: 401, audited, nothing stored ---------------------------------------------------


def _flip_one_byte(hub: Hub) -> Response:
    body = cloud_event("evt-1")
    headers = standard_webhooks.sign(SECRET, "evt-1", int(hub.clock.now().timestamp()), body)
    return hub.post("salesforce", body.replace(b"opportunity", b"opportunitx"), headers)


@pytest.mark.parametrize(
    ("attack", "code"),
    [
        (
            lambda h: h.post_standard(cloud_event("evt-1"), secret=FORGED_SECRET),
            "signature_invalid",
        ),
        (lambda h: h.post_standard(cloud_event("evt-1"), age=301), "timestamp_out_of_tolerance"),
        (lambda h: h.post_standard(cloud_event("evt-1"), age=-301), "timestamp_out_of_tolerance"),
        (_flip_one_byte, "signature_invalid"),
        (lambda h: h.post_standard(cloud_event("e"), drop="webhook-signature"), "headers_missing"),
        (lambda h: h.post_standard(cloud_event("e"), drop="webhook-timestamp"), "headers_missing"),
        (lambda h: h.post_standard(cloud_event("e"), drop="webhook-id"), "headers_missing"),
        (lambda h: h.post("salesforce", cloud_event("e"), {}), "headers_missing"),
    ],
    ids=[
        "forged",
        "stale",
        "from-the-future",
        "flipped-byte",
        "no-signature",
        "no-timestamp",
        "no-id",
        "no-headers",
    ],
)
def test_a_forged_stale_altered_or_unsigned_webhook_gets_401_an_audit_entry_and_leaves_no_work(
    hub, attack, code
):
    response = attack(hub)

    problem = assert_problem(response, 401, f"webhook.{code}")
    assert SECRET[6:] not in response.text
    assert FORGED_SECRET[6:] not in response.text
    assert problem["remediation"]
    assert response.headers["www-authenticate"].startswith("Signature")
    assert hub.inbox() == []
    assert hub.store.exceptions == {}
    assert hub.dispatcher.calls == []
    assert hub.rejections() == [f"webhook.{code}"]


def test_a_valid_webhook_replayed_after_six_minutes_gets_401_and_no_second_effect(hub):
    body = cloud_event("evt-1")
    headers = standard_webhooks.sign(SECRET, "evt-1", int(hub.clock.now().timestamp()), body)
    assert hub.post("salesforce", body, headers).status_code == 202
    hub.clock.advance(timedelta(minutes=6))

    replay = hub.post("salesforce", body, headers)

    assert_problem(replay, 401, "webhook.timestamp_out_of_tolerance")
    assert len(hub.inbox()) == 1
    assert hub.dispatcher.calls == ["inbox:salesforce:evt-1"]
    assert hub.rejections() == ["webhook.timestamp_out_of_tolerance"]


def test_a_docusign_webhook_with_a_real_connect_hmac_is_accepted_and_a_redelivery_is_a_duplicate(
    hub,
):
    body = connect_body()
    headers = docusign_connect.sign([CONNECT_KEY], body)

    first = hub.post("docusign", body, headers)
    redelivered = hub.post("docusign", body, headers)  # no timestamp: only dedupe stops it

    assert first.status_code == 202
    assert redelivered.status_code == 200
    [message] = hub.inbox()
    assert message.event_id == "env-1:envelope-completed:2026-01-05T09:00:00.0000000Z"
    assert message.event_type == "envelope-completed"
    assert hub.dispatcher.calls == [f"inbox:docusign:{message.event_id}"]


def test_a_docusign_webhook_signed_with_another_key_or_altered_is_refused(hub):
    body = connect_body()
    forged = hub.post("docusign", body, docusign_connect.sign(["x" * 40], body))
    altered = hub.post("docusign", body + b" ", docusign_connect.sign([CONNECT_KEY], body))
    assert_problem(forged, 401, "webhook.signature_invalid")
    assert_problem(altered, 401, "webhook.signature_invalid")
    assert hub.inbox() == []
    assert len(hub.rejections()) == 2


def test_an_ironclad_webhook_with_a_real_rsa_signature_is_accepted(hub):
    body = ironclad_body()
    headers = ironclad.sign(rsa_key("ironclad"), "evt-ic-1", body, nonce="n1")

    response = hub.post("ironclad", body, headers)

    assert response.status_code == 202
    [message] = hub.inbox()
    assert (message.event_id, message.event_type) == ("evt-ic-1", "workflow_completed")
    assert "x-ironclad-webhook-verification" not in message.headers


def test_an_ironclad_webhook_signed_by_another_key_is_refused(hub):
    body = ironclad_body()
    headers = ironclad.sign(rsa_key("attacker"), "evt-ic-1", body, nonce="n1")
    assert_problem(hub.post("ironclad", body, headers), 401, "webhook.signature_invalid")
    assert hub.inbox() == []
    assert hub.rejections() == ["webhook.signature_invalid"]


# --- size, syntax and schema drift ------------------------------------------------------------


def test_a_body_declared_larger_than_the_limit_gets_413_before_any_verification(hub):
    body = cloud_event("evt-1", data={"blob": "x" * LIMIT})
    response = hub.post_standard(body)
    assert_problem(response, 413, "webhook.body_too_large")
    assert hub.inbox() == []
    assert hub.rejections() == []


def test_a_content_length_over_the_limit_is_refused_without_reading_the_body(hub):
    response = hub.client.post(
        "/webhooks/salesforce", content=b"{}", headers={"Content-Length": str(LIMIT + 1)}
    )
    assert_problem(response, 413, "webhook.body_too_large")
    assert hub.inbox() == []
    assert hub.rejections() == []


def test_a_chunked_body_that_grows_past_the_limit_gets_413(hub):
    def chunks() -> Iterator[bytes]:
        yield b'{"id": "evt-1", "data": "'
        for _ in range(10):
            yield b"x" * 1024
        yield b'"}'

    response = hub.client.post("/webhooks/salesforce", content=chunks())

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "webhook.body_too_large")
    assert hub.inbox() == []


def test_malformed_json_gets_400_naming_where_it_breaks(hub):
    response = hub.post_standard(b'{"id": "evt-1", "type": }')
    problem = assert_problem(response, 400, "webhook.body_malformed")
    assert "line 1 column 25" in str(problem["detail"])
    assert hub.inbox() == []


def test_a_json_array_gets_422_saying_an_object_is_expected(hub):
    problem = assert_problem(hub.post_standard(b"[]"), 422, "webhook.body_not_object")
    assert "an array" in str(problem["detail"])


def test_a_missing_required_field_is_quarantined_202_with_an_exception_item(hub):
    body = json.dumps({"id": "evt-1", "source": "sim"}).encode()

    response = hub.post_standard(body)

    assert response.status_code == 202
    assert response.json()["status"] == "quarantined"
    [message] = hub.inbox()
    assert message.status is InboxStatus.FAILED
    assert message.error == {"code": "ingress.required_field_missing", "missing_fields": ["type"]}
    [stored] = hub.store.exceptions.values()
    assert stored.item.evidence["inbox_message_id"] == message.id
    assert hub.dispatcher.calls == []


def test_unknown_fields_are_recorded_on_the_message_and_counted(hub):
    hub.post_standard(cloud_event("evt-1", priority="high", region="eu"))

    [message] = hub.inbox()
    assert message.unknown_fields == ("priority", "region")
    metrics = hub.client.get("/metrics").text
    assert 'contractsync_webhooks_unknown_fields_total{source="salesforce"} 1.0' in metrics


def test_an_unknown_source_gets_404_problem(hub):
    response = hub.post("netsuite", cloud_event("evt-1"), {})
    assert_problem(response, 404, "webhook.source_unknown")
    assert hub.rejections() == []


def test_a_source_name_longer_than_allowed_gets_422_listing_the_field(hub):
    problem = assert_problem(hub.post("s" * 65, b"{}", {}), 422, "request.invalid")
    assert problem["errors"] == [
        {
            "field": "path.source",
            "message": "String should have at most 64 characters",
            "type": "string_too_long",
        }
    ]


def test_a_wrong_method_gets_405_problem_with_allow(hub):
    response = hub.client.get("/webhooks/salesforce")
    assert_problem(response, 405, "http.method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_an_unrouted_path_gets_404_problem(hub):
    assert_problem(hub.client.get("/nothing-here"), 404, "http.not_found")


# --- dispatch failure, errors, health, metrics, OpenAPI ---------------------------------------


class RefusingDispatcher:
    """An engine that is down."""

    def dispatch(self, message: InboxMessage) -> str:
        raise TransientError("engine down", code="engine.unavailable")


def test_a_dispatch_failure_after_commit_still_answers_202_and_the_serve_sweep_starts_it_later(
    tmp_path, monkeypatch
):
    clock, store = FixedClock(), InMemoryStore()
    container = build_api(
        hub_settings(tmp_path, monkeypatch),
        uow_factory=lambda: InMemoryUnitOfWork(store, clock),
        dispatcher=RefusingDispatcher(),
        clock=clock,
    )
    hub = Hub(TestClient(create_app(container)), store, clock, RecordingDispatcher())

    response = hub.post_standard(cloud_event("evt-1"))

    assert response.status_code == 202
    [message] = hub.inbox()
    assert message.status is InboxStatus.RECEIVED
    assert 'contractsync_webhooks_dispatch_failures_total{source="salesforce"} 1.0' in (
        hub.client.get("/metrics").text
    )

    clock.advance(timedelta(minutes=1))
    recovered = RecordingDispatcher()
    after_restart = build_api(
        hub_settings(tmp_path, monkeypatch),
        uow_factory=lambda: InMemoryUnitOfWork(store, clock),
        dispatcher=recovered,
        clock=clock,
    )
    assert DispatchSweep(after_restart).sweep_once() == 1
    assert recovered.calls == ["inbox:salesforce:evt-1"]
    assert store.inbox[message.id].status is InboxStatus.DISPATCHED


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (DataError("bad row", code="data.bad_row"), 422, "data.bad_row"),
        (ConflictError("changed", code="record.version_conflict"), 409, "record.version_conflict"),
        (TransientError("busy", retry_after=12.4), 503, "remote.transient"),
        (ConfigError("password for db at 10.0.0.5 is wrong"), 500, "server.misconfigured"),
        (RuntimeError("internal stack detail"), 500, "server.internal_error"),
    ],
)
def test_each_error_kind_answers_its_status_as_problem_json_without_internals(
    tmp_path, monkeypatch, error, status, code
):
    container = build_api(
        hub_settings(tmp_path, monkeypatch), uow_factory=InMemoryUnitOfWork, clock=FixedClock()
    )
    app = create_app(container)

    async def fail() -> None:
        raise error

    app.add_api_route("/boom", fail)
    response = TestClient(app, raise_server_exceptions=False).get("/boom")

    problem = assert_problem(response, status, code)
    assert "10.0.0.5" not in response.text
    assert "stack" not in response.text
    if status == 503:
        assert response.headers["retry-after"] == "12"
    assert problem["detail"]


def test_health_is_ok_and_readiness_follows_the_database_migration(tmp_path, monkeypatch):
    settings = hub_settings(tmp_path, monkeypatch)
    container = build_api(settings, clock=FixedClock())
    client = TestClient(create_app(container))

    assert client.get("/healthz").json() == {"status": "ok"}
    not_ready = assert_problem(client.get("/readyz"), 503, "database.not_migrated")
    assert "contractsync db upgrade" in str(not_ready["remediation"])
    assert str(tmp_path) not in client.get("/readyz").text

    upgrade(settings.database.url)
    assert client.get("/readyz").json() == {"status": "ready"}
    container.close()


def test_metrics_count_outcomes_by_source_and_reason_and_time_requests(hub):
    hub.post_standard(cloud_event("evt-1"))
    hub.post_standard(cloud_event("evt-1"))
    hub.post_standard(cloud_event("evt-2"), event_id="evt-2", secret=FORGED_SECRET)

    text = hub.client.get("/metrics").text

    assert 'contractsync_webhooks_received_total{source="salesforce"} 3.0' in text
    assert 'contractsync_webhooks_accepted_total{source="salesforce"} 1.0' in text
    assert 'contractsync_webhooks_duplicate_total{source="salesforce"} 1.0' in text
    assert (
        'contractsync_webhooks_rejected_total{reason="webhook.signature_invalid",'
        'source="salesforce"} 1.0'
    ) in text
    assert (
        'contractsync_http_request_duration_seconds_count{method="POST",'
        'route="/webhooks/{source}",status="202"} 1.0'
    ) in text


def test_the_openapi_document_describes_every_response_with_the_problem_schema(hub):
    spec = hub.client.get("/openapi.json").json()

    operation = spec["paths"]["/webhooks/{source}"]["post"]
    assert set(operation["responses"]) == {"200", "202", "400", "401", "404", "413", "422"} | {
        "500",
        "503",
    }
    for status in ("400", "401", "404", "413", "422", "500", "503"):
        content = operation["responses"][status]["content"]
        assert content == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert "requestBody" in operation
    assert {"type", "title", "status", "detail", "instance", "code", "remediation"} <= set(
        spec["components"]["schemas"]["Problem"]["properties"]
    )
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert "503" in spec["paths"]["/readyz"]["get"]["responses"]


def test_a_secret_that_is_not_set_stops_the_build_naming_the_variable_not_the_value(
    tmp_path, monkeypatch
):
    settings = hub_settings(tmp_path, monkeypatch)
    monkeypatch.delenv("TEST_CONNECT_KEY")
    with pytest.raises(ConfigError, match="TEST_CONNECT_KEY"):
        build_api(settings, uow_factory=InMemoryUnitOfWork)
    monkeypatch.setenv("TEST_CONNECT_KEY", "tiny-k3y")
    with pytest.raises(ConfigError) as caught:
        build_api(settings, uow_factory=InMemoryUnitOfWork)
    assert "tiny-k3y" not in str(caught.value)
