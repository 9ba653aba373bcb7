"""The simulator's wire format checked with hand-built requests, as vendors.md §3 documents it."""

from __future__ import annotations

import base64

import httpx
import pytest

from contractsync.adapters.salesforce.webhooks import read_event_body
from contractsync.adapters.signatures.standard_webhooks import StandardWebhooksVerifier
from contractsync.simulators.salesforce import SalesforceSimulator
from tests.adapters.salesforce.conftest import TOKEN_FORM, Served

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
DATA = "/services/data/v62.0"


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


@pytest.fixture
def api(sim: SalesforceSimulator) -> httpx.Client:
    client = sim.client()
    token = client.post("/services/oauth2/token", data=TOKEN_FORM).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_the_token_endpoint_answers_the_client_credentials_fields(served: Served) -> None:
    with served.http() as client:
        response = client.post("/services/oauth2/token", data=TOKEN_FORM)
    body = response.json()
    assert response.status_code == 200
    assert set(body) >= {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == served.url
    assert body["issued_at"].isdigit()
    assert body["id"].startswith("https://login.salesforce.com/id/00D")
    assert "refresh_token" not in body


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (TOKEN_FORM | {"client_secret": "wrong"}, "invalid_client"),
        (TOKEN_FORM | {"client_id": "unknown"}, "invalid_client"),
        (TOKEN_FORM | {"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_the_token_endpoint_refuses_bad_clients_with_an_oauth_error(
    sim: SalesforceSimulator, form: dict[str, str], error: str
) -> None:
    response = sim.client().post("/services/oauth2/token", data=form)
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_a_bad_or_expired_token_answers_401_invalid_session_id(served: Served) -> None:
    token = served.token()
    with served.http() as client:
        bad = client.get(f"{DATA}/limits", headers={"Authorization": "Bearer forged"})
        assert bad.status_code == 401
        assert bad.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
        good = client.get(f"{DATA}/limits", headers={"Authorization": f"Bearer {token}"})
        assert good.status_code == 200
        client.post("/_sim/scenarios/expire_tokens", json={})
        expired = client.get(f"{DATA}/limits", headers={"Authorization": f"Bearer {token}"})
        assert expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_every_rest_answer_carries_sforce_limit_info(api: httpx.Client) -> None:
    answers = [
        api.get(f"{DATA}/limits"),
        api.post(f"{DATA}/sobjects/Account/", json={}),
        api.get(f"{DATA}/sobjects/Account/001Sm0000009999IAA"),
    ]
    assert [a.headers["Sforce-Limit-Info"] for a in answers] == [
        "api-usage=1/15000",
        "api-usage=2/15000",
        "api-usage=3/15000",
    ]


def test_the_version_list_needs_no_token_and_retired_versions_answer_404(
    sim: SalesforceSimulator, api: httpx.Client
) -> None:
    listed = sim.client().get("/services/data/")
    assert {"label": "v62", "url": "/services/data/v62.0", "version": "62.0"} in listed.json()
    assert api.get("/services/data/v20.0/limits").json()[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        ({"Name": "A", "IsDeleted": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsDeleted"]),
        ({"Name": "A", "BillingCountryCode": "Germany"}, "STRING_TOO_LONG", ["BillingCountryCode"]),
        (
            {"Name": "A", "BillingCountryCode": "de"},
            "FIELD_INTEGRITY_EXCEPTION",
            ["BillingCountryCode"],
        ),
        ({"Name": "A", "Is_Business__c": "yes"}, "JSON_PARSER_ERROR", ["Is_Business__c"]),
    ],
)
def test_refused_fields_answer_400_with_the_error_array(
    api: httpx.Client, body: dict[str, object], code: str, fields: list[str]
) -> None:
    response = api.post(f"{DATA}/sobjects/Account/", json=body)
    assert response.status_code == 400
    assert (response.json()[0]["errorCode"], response.json()[0]["fields"]) == (code, fields)


def test_an_opportunity_needs_an_existing_account(api: httpx.Client) -> None:
    base = {"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-01-01"}
    malformed = api.post(f"{DATA}/sobjects/Opportunity/", json=base | {"AccountId": "x"})
    assert malformed.json()[0]["errorCode"] == "MALFORMED_ID"
    missing = api.post(
        f"{DATA}/sobjects/Opportunity/", json=base | {"AccountId": "001Sm0000009999IAA"}
    )
    assert missing.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_upsert_refuses_an_external_id_field_that_is_not_one(api: httpx.Client) -> None:
    response = api.patch(f"{DATA}/sobjects/Account/Name/Acme", json={"Industry": "x"})
    assert response.status_code == 404
    assert "external ID field" in response.json()[0]["message"]


def test_patch_can_be_sent_as_post_with_http_method_override(api: httpx.Client) -> None:
    response = api.post(
        f"{DATA}/sobjects/Account/Canonical_Id__c/c1",
        params={"_HttpMethod": "PATCH"},
        json={"Name": "A"},
    )
    assert (response.status_code, response.json()["created"]) == (201, True)


def test_closing_an_opportunity_as_won_sends_one_signed_thin_event() -> None:
    received: list[httpx.Request] = []

    def hub(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    sim = SalesforceSimulator(webhook_client=httpx.Client(transport=httpx.MockTransport(hub)))
    api = sim.client()
    token = api.post("/services/oauth2/token", data=TOKEN_FORM).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    sim.webhooks.subscribe("https://hub.example/webhooks/salesforce", SECRET)
    account = api.post(f"{DATA}/sobjects/Account/", json={"Name": "Acme"}).json()["id"]
    opportunity = api.post(
        f"{DATA}/sobjects/Opportunity/",
        json={
            "Name": "Deal",
            "AccountId": account,
            "StageName": "Negotiation/Review",
            "CloseDate": "2026-02-01",
        },
    ).json()["id"]
    api.patch(f"{DATA}/sobjects/Opportunity/{opportunity}", json={"StageName": "Closed Won"})
    api.patch(f"{DATA}/sobjects/Opportunity/{opportunity}", json={"Description": "still won"})
    sim.webhooks.drain()
    assert len(received) == 1
    request = received[0]
    verified = StandardWebhooksVerifier([SECRET]).verify(dict(request.headers), request.content)
    event = read_event_body(request.content)
    assert event.event_id == verified.event_id
    assert (event.opportunity.id, event.account and event.account.id) == (opportunity, account)
