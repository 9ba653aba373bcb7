"""API keys with scopes: 401 without or with a bad key, 403 naming the missing scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contractsync.bootstrap import build_api_keys
from contractsync.config import Settings
from contractsync.errors import ConfigError
from tests.e2e.process_seed import (
    AUDITOR_KEY,
    DELIVERY_KEY,
    FINANCE_KEY,
    LEGAL_KEY,
    ProcessHub,
    build_process_hub,
)

PROCESS_GETS = [
    "/api/v1/customers",
    "/api/v1/contracts",
    "/api/v1/projects",
    "/api/v1/rate-cards",
    "/api/v1/invoices",
    "/api/v1/exceptions",
    "/api/v1/events",
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessHub]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from build_process_hub(monkeypatch, tmp_path_factory.mktemp("hub"))


@pytest.mark.parametrize("path", PROCESS_GETS)
def test_a_request_without_a_key_gets_401_with_a_bearer_challenge(hub, path):
    response = hub.client.get(path)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "auth.missing"


@pytest.mark.parametrize(
    "authorization", ["Bearer wrong-key-" + "x" * 40, "Basic YWRtaW46YWRtaW4=", "Bearer ", "bearer"]
)
def test_a_wrong_key_or_scheme_gets_401_and_reveals_nothing(hub, authorization):
    response = hub.client.get("/api/v1/contracts", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["code"] in {"auth.invalid_key", "auth.missing"}
    assert "www-authenticate" in response.headers


def test_authentication_comes_before_validation_so_bad_input_tells_an_anonymous_caller_nothing(hub):
    response = hub.client.get("/api/v1/customers?limit=abc")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("key", "path", "scope"),
    [
        (LEGAL_KEY, "/api/v1/invoices", "billing:read"),
        (DELIVERY_KEY, "/api/v1/billing-schedules/SOW-2025-0142", "billing:read"),
        (AUDITOR_KEY, "/api/v1/exceptions/EX-1:assign", "exceptions:write"),
    ],
)
def test_a_key_without_the_scope_gets_403_naming_it(hub, key, path, scope):
    if path.endswith(":assign"):
        response = hub.post(path, {"assignee": "ana"}, key=key, **{"If-Match": "*"})
    else:
        response = hub.get(path, key=key)

    assert response.status_code == 403
    assert response.json()["code"] == "auth.scope_missing"
    assert scope in response.json()["detail"]


def test_each_role_reads_what_its_scopes_allow(hub):
    assert hub.get("/api/v1/invoices", key=FINANCE_KEY).status_code == 200
    assert hub.get("/api/v1/invoices", key=AUDITOR_KEY).status_code == 200
    assert hub.get("/api/v1/contracts", key=LEGAL_KEY).status_code == 200
    assert hub.get("/api/v1/exceptions", key=DELIVERY_KEY).status_code == 200


def test_health_and_webhooks_stay_outside_the_api_key_scheme(hub):
    assert hub.client.get("/healthz").status_code == 200
    # No source is configured: the webhook answer is its own 404, not an API key 401.
    response = hub.client.post("/webhooks/salesforce", content=b"{}")
    assert response.status_code == 404
    assert response.json()["code"] == "webhook.source_unknown"


def test_a_key_cannot_hold_scopes_beyond_its_role(monkeypatch):
    monkeypatch.setenv("K", "k" * 40)
    with pytest.raises(ValueError, match="may not hold pricing:read"):
        Settings.model_validate(
            {
                "api": {
                    "keys": [
                        {
                            "name": "ops",
                            "role": "delivery",
                            "scopes": ["pricing:read"],
                            "secret": {"env": "K"},
                        }
                    ]
                }
            }
        )


def test_a_short_key_secret_is_refused_at_start_up_naming_the_key_not_the_secret(monkeypatch):
    monkeypatch.setenv("K", "short-secret")
    settings = Settings.model_validate(
        {"api": {"keys": [{"name": "ops", "role": "auditor", "secret": {"env": "K"}}]}}
    )

    with pytest.raises(ConfigError, match="API key ops") as raised:
        build_api_keys(settings)
    assert "short-secret" not in str(raised.value)


def test_keys_are_held_as_sha256_digests_only(monkeypatch):
    secret = "s" * 40
    monkeypatch.setenv("K", secret)
    settings = Settings.model_validate(
        {"api": {"keys": [{"name": "ops", "role": "legal", "secret": {"env": "K"}}]}}
    )

    [key] = build_api_keys(settings)

    assert secret not in repr(key)
    assert len(key.secret_sha256) == 32
    assert "pricing:read" not in key.scopes
    assert "exceptions:write" in key.scopes
