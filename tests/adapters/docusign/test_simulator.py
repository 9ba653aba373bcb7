"""The DocuSign simulator, checked by hand-built requests written from DocuSign's documented format.

Nothing here uses the hub's DocuSign adapter: the JWT is built in the test, Connect signatures
are recomputed with ``hmac`` and ``base64`` as developers.docusign.com/platform/webhooks/
connect/validate describes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.ingress import DOCUSIGN, parse_webhook
from contractsync.adapters.signatures import DocuSignConnectVerifier
from contractsync.simulators import FaultPlan
from contractsync.simulators.docusign import DocuSignSimulator
from tests.adapters.docusign.conftest import (
    ACCOUNT_ID,
    KEYS,
    LISTENER,
    Clock,
    Listener,
    create,
    jwt,
    token,
)

REST = f"/restapi/v2.1/accounts/{ACCOUNT_ID}"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def auth(http: httpx.Client, key: rsa.RSAPrivateKey, clock: Clock) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(http, key, clock.now)}"}


def test_the_jwt_grant_issues_a_token_and_userinfo_names_the_account(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    with sim.client() as http:
        bearer = auth(http, integration_key, clock)
        info = http.get("/oauth/userinfo", headers=bearer).json()
    account = info["accounts"][0]
    assert account["account_id"] == ACCOUNT_ID
    assert account["is_default"] is True
    assert account["base_uri"].startswith("https://")


def test_a_bad_assertion_is_an_invalid_grant(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "foreign key": jwt(other, clock.now),
        "expired": jwt(integration_key, clock.now - 7200),
        "wrong audience": jwt(integration_key, clock.now, aud="account.docusign.com"),
    }
    with sim.client() as http:
        answers = {
            name: http.post("/oauth/token", data={"grant_type": GRANT, "assertion": a})
            for name, a in cases.items()
        }
        no_consent = http.post(
            "/oauth/token",
            data={"grant_type": GRANT, "assertion": jwt(integration_key, clock.now, sub="someone")},
        )
    assert {a.status_code for a in answers.values()} == {400}
    assert {a.json()["error"] for a in answers.values()} == {"invalid_grant"}
    assert no_consent.json()["error"] == "consent_required"


def test_an_envelope_reads_with_its_custom_fields(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    with sim.client() as http:
        envelope_id = create(http, "SOW-2025-0187")
        bearer = auth(http, integration_key, clock)
        plain = http.get(f"{REST}/envelopes/{envelope_id}", headers=bearer).json()
        full = http.get(
            f"{REST}/envelopes/{envelope_id}", params={"include": "custom_fields"}, headers=bearer
        ).json()
        fields = http.get(f"{REST}/envelopes/{envelope_id}/custom_fields", headers=bearer).json()
    assert plain["status"] == "sent"
    assert "customFields" not in plain
    assert full["customFields"] == fields
    assert fields["textCustomFields"][0]["name"] == "contractId"
    assert fields["textCustomFields"][0]["value"] == "SOW-2025-0187"
    assert plain["sentDateTime"].endswith("0000Z")  # seven fractional digits, as DocuSign


def test_errors_are_an_error_code_and_a_message(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    with sim.client() as http:
        bearer = auth(http, integration_key, clock)
        unknown = http.get(f"{REST}/envelopes/00000000-0000-0000-0000-000000000000", headers=bearer)
        no_token = http.get(f"{REST}/envelopes/x")
        no_window = http.get(f"{REST}/envelopes", headers=bearer)
    assert (unknown.status_code, unknown.json()["errorCode"]) == (400, "ENVELOPE_DOES_NOT_EXIST")
    assert set(unknown.json()) == {"errorCode", "message"}
    assert (no_token.status_code, no_token.json()["errorCode"]) == (
        401,
        "USER_AUTHENTICATION_FAILED",
    )
    assert no_window.json()["errorCode"] == "INVALID_REQUEST_PARAMETER"


def test_every_answer_carries_the_rate_limit_headers(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    with sim.client() as http:
        bearer = auth(http, integration_key, clock)
        first = http.get(f"{REST}/envelopes", params={"from_date": "2025-01-01"}, headers=bearer)
        second = http.get(f"{REST}/envelopes", params={"from_date": "2025-01-01"}, headers=bearer)
    assert first.headers["X-RateLimit-Limit"] == "3000"
    assert first.headers["X-RateLimit-Remaining"] == "2999"
    assert second.headers["X-RateLimit-Remaining"] == "2998"
    assert int(first.headers["X-RateLimit-Reset"]) == clock.now - 600 + 3600
    assert first.headers["X-BurstLimit-Limit"] == "500"


def test_a_spent_hourly_allowance_answers_the_documented_error_until_the_hour_turns(
    make_sim: Callable[..., DocuSignSimulator], integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    sim = make_sim(hourly_limit=2)
    params = {"from_date": "2025-01-01"}
    with sim.client() as http:
        bearer = auth(http, integration_key, clock)
        answers = [http.get(f"{REST}/envelopes", params=params, headers=bearer) for _ in range(3)]
        clock.now += 3000  # the top of the next hour
        after = http.get(f"{REST}/envelopes", params=params, headers=bearer)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["errorCode"] == "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"
    assert answers[2].headers["X-RateLimit-Remaining"] == "0"
    assert after.status_code == 200


def test_the_limit_status_and_the_burst_allowance_are_configurable(
    make_sim: Callable[..., DocuSignSimulator], integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    sim = make_sim(burst_limit=1, limit_status=400)
    params = {"from_date": "2025-01-01"}
    with sim.client() as http:
        bearer = auth(http, integration_key, clock)
        answers = [http.get(f"{REST}/envelopes", params=params, headers=bearer) for _ in range(2)]
        clock.now += 31
        after = http.get(f"{REST}/envelopes", params=params, headers=bearer)
    assert answers[1].status_code == 400
    assert answers[1].json()["errorCode"] == "BURST_APIINVOCATION_LIMIT_EXCEEDED"
    assert after.status_code == 200


def test_the_status_change_listing_pages_by_start_position(
    sim: DocuSignSimulator, integration_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    with sim.client() as http:
        ids = [create(http, f"SOW-{n}") for n in range(5)]
        for envelope_id in ids[:4]:
            http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
        bearer = auth(http, integration_key, clock)
        params = {"from_date": "2025-01-01", "status": "completed", "count": "3"}
        first = http.get(f"{REST}/envelopes", params=params, headers=bearer).json()
        second = http.get(
            f"{REST}/envelopes", params={**params, "start_position": "3"}, headers=bearer
        ).json()
    assert (first["resultSetSize"], first["totalSetSize"], first["startPosition"]) == (
        "3",
        "4",
        "0",
    )
    assert "nextUri" in first
    assert "nextUri" not in second
    assert [e["envelopeId"] for e in first["envelopes"] + second["envelopes"]] == ids[:4]


def expected_signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def configure(http: httpx.Client, keys: list[str] = KEYS) -> None:
    answer = http.post(
        "/_sim/scenarios/configure_connect", json={"url": LISTENER, "hmac_keys": keys}
    )
    assert answer.status_code == 200


def test_connect_signs_each_message_once_per_key(
    sim: DocuSignSimulator, listener: Listener
) -> None:
    with sim.client() as http:
        configure(http)
        envelope_id = create(http)
        http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
    sim.webhooks.drain()
    assert [b["event"] for b in listener.bodies()] == ["envelope-sent", "envelope-completed"]
    for request in listener.requests:
        assert request.headers["X-DocuSign-Signature-1"] == expected_signature(
            KEYS[0], request.content
        )
        assert request.headers["X-DocuSign-Signature-2"] == expected_signature(
            KEYS[1], request.content
        )
        assert "X-DocuSign-Signature-3" not in request.headers
        assert request.headers["x-authorization-digest"] == "HMACSHA256"


def test_a_completed_message_is_json_sim_with_the_contract_link(
    sim: DocuSignSimulator, listener: Listener
) -> None:
    with sim.client() as http:
        configure(http)
        envelope_id = create(http, "SOW-2025-0142")
        http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
    sim.webhooks.drain()
    body = listener.bodies()[1]
    assert set(body) == {"event", "apiVersion", "uri", "retryCount", "configurationId",
                         "generatedDateTime", "data"}  # fmt: skip
    assert body["data"]["envelopeId"] == envelope_id
    summary = body["data"]["envelopeSummary"]
    assert summary["status"] == "completed"
    assert summary["customFields"]["textCustomFields"][0]["value"] == "SOW-2025-0142"
    assert summary["recipients"]["signers"][0]["status"] == "completed"
    parsed = parse_webhook(DOCUSIGN, listener.requests[1].content, verified_id="from-the-verifier")
    assert parsed.missing_fields == ()
    assert parsed.unknown_fields == ()


def test_retries_increment_retry_count_under_one_dedupe_key(
    sim: DocuSignSimulator, listener: Listener
) -> None:
    listener.statuses = [500, 503]
    with sim.client() as http:
        configure(http)
        create(http)
    sim.webhooks.drain()
    assert [b["retryCount"] for b in listener.bodies()] == [0, 1, 2]
    verifier = DocuSignConnectVerifier(KEYS)
    ids = {verifier.verify(dict(r.headers), r.content).event_id for r in listener.requests}
    assert len(ids) == 1


def test_repeated_deliveries_verify_and_keep_their_identity(
    make_sim: Callable[..., DocuSignSimulator], listener: Listener
) -> None:
    sim = make_sim(faults=FaultPlan(seed=5, duplicate_webhook_rate=1.0))
    with sim.client() as http:
        configure(http)
        envelope_id = create(http)
        http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": envelope_id})
        sim.webhooks.drain()
        http.post("/_sim/scenarios/republish_envelope", json={"envelope_id": envelope_id})
        sim.webhooks.drain()
    verifier = DocuSignConnectVerifier(KEYS)
    ids = [verifier.verify(dict(r.headers), r.content).event_id for r in listener.requests]
    completed = [i for i in ids if ":envelope-completed:" in i]
    assert len(listener.requests) == 6  # two events, each duplicated, the last one republished
    assert len(completed) == 4
    assert len(set(completed)) == 1


def test_a_declined_or_voided_envelope_sends_its_event(
    sim: DocuSignSimulator, listener: Listener
) -> None:
    with sim.client() as http:
        configure(http)
        declined, voided = create(http, "A"), create(http, "B")
        http.post("/_sim/scenarios/decline_envelope", json={"envelope_id": declined})
        http.post("/_sim/scenarios/void_envelope", json={"envelope_id": voided, "reason": "typo"})
        again = http.post("/_sim/scenarios/complete_envelope", json={"envelope_id": voided})
    sim.webhooks.drain()
    events = [b["event"] for b in listener.bodies()]
    assert events[2:] == ["envelope-declined", "envelope-voided"]
    assert listener.bodies()[3]["data"]["envelopeSummary"]["voidedReason"] == "typo"
    assert again.status_code == 400
