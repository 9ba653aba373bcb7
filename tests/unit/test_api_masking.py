"""Pricing masking: canary prices never reach a key without pricing:read, on any endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from contractsync.entrypoints.api.masking import mask, priced, pricing_paths
from contractsync.entrypoints.api.schemas.common import MoneyView
from contractsync.entrypoints.api.schemas.contracts import ContractView
from tests.e2e.process_seed import (
    ADMIN_KEY,
    AUDITOR_KEY,
    DELIVERY_KEY,
    FINANCE_KEY,
    LEGAL_KEY,
    ProcessHub,
    build_process_hub,
)

WITHOUT_PRICING = [LEGAL_KEY, DELIVERY_KEY]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessHub]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from build_process_hub(monkeypatch, tmp_path_factory.mktemp("hub"))


def endpoints(hub: ProcessHub) -> list[tuple[str, str, Any]]:
    """Every read, plus the dry run, against seeded ids."""
    seeded = hub.seeded
    reads = [
        "/api/v1/customers",
        "/api/v1/contracts",
        "/api/v1/projects",
        "/api/v1/rate-cards",
        "/api/v1/invoices",
        "/api/v1/exceptions",
        "/api/v1/events",
    ]
    for contract in seeded.contracts:
        reads += [
            f"/api/v1/contracts/{contract}",
            f"/api/v1/contracts/{contract}/versions",
            f"/api/v1/contracts/{contract}/lineage",
            f"/api/v1/billing-schedules/{contract}",
        ]
    reads += [f"/api/v1/exceptions/{item}" for item in seeded.exceptions]
    calls: list[tuple[str, str, Any]] = [("GET", path, None) for path in reads]
    for contract, case in seeded.cases.items():
        for sample in case.amendments[:1]:
            calls.append(
                (
                    "POST",
                    f"/api/v1/contracts/{contract}/amendments:plan",
                    {"amendment": sample.amendment.model_dump(mode="json")},
                )
            )
    return calls


def send(hub: ProcessHub, call: tuple[str, str, Any], key: str, limit: int) -> Any:
    method, path, body = call
    if method == "POST":
        return hub.post(path, body, key=key)
    return hub.get(path, key=key, **({"limit": limit} if "/" not in path[8:] else {}))


def test_the_seeded_canaries_are_live_for_keys_with_pricing_read(hub):
    assert len(hub.seeded.canaries) >= 8
    for key in (ADMIN_KEY, FINANCE_KEY, AUDITOR_KEY):
        bodies = "".join(send(hub, call, key, 200).text for call in endpoints(hub))
        assert all(canary in bodies for canary in hub.seeded.canaries), key


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_canary_price_appears_in_any_response_to_a_key_without_pricing_read(hub, data):
    call = data.draw(st.sampled_from(endpoints(hub)), label="call")
    key = data.draw(st.sampled_from(WITHOUT_PRICING), label="key")
    limit = data.draw(st.integers(min_value=1, max_value=200), label="limit")

    response = send(hub, call, key, limit)

    assert response.status_code in {200, 403, 404, 422}, response.text
    leaked = [canary for canary in hub.seeded.canaries if canary in response.text]
    assert leaked == [], (call, leaked)


def test_masked_responses_null_the_priced_fields_and_list_their_paths(hub):
    contract = hub.seeded.contracts[0]

    body = hub.get(f"/api/v1/contracts/{contract}", key=LEGAL_KEY).json()

    assert body["lines"][0]["billing"]["amount"] is None
    assert body["lines"][0]["billing"]["milestones"][0]["amount"] is None
    assert body["lines"][0]["billing"]["milestones"][0]["name"]
    assert "lines[].billing.milestones[].amount" in body["masked_fields"]
    assert hub.get(f"/api/v1/contracts/{contract}").json()["masked_fields"] == []


def test_a_dry_run_for_a_key_without_pricing_keeps_the_decision_and_hides_the_money(hub):
    contract, case = next(iter(hub.seeded.cases.items()))
    body = {"amendment": case.amendments[0].amendment.model_dump(mode="json")}

    plan = hub.post(f"/api/v1/contracts/{contract}/amendments:plan", body, key=LEGAL_KEY).json()

    assert plan["decision"]["rule_id"]
    assert plan["impact"]["delta"] is None
    assert all(op["summary"] is None for op in plan["operations"])
    assert "impact.delta" in plan["masked_fields"]


def test_free_form_data_loses_money_by_shape_and_by_key_name():
    body = {
        "data": {
            "note": "kept",
            "total": "12.00",
            "nested": [{"x": {"amount": "1.00", "currency": "EUR"}}],
        }
    }

    class Event(BaseModel):
        data: dict[str, Any] | None = None

    paths = [("data", "**")]

    assert mask(body, paths) == ["data.*"]
    assert body == {"data": {"note": "kept", "total": None, "nested": [{"x": None}]}}
    assert pricing_paths(Event) == ()


def test_priced_paths_are_found_through_lists_and_nested_models():
    paths = {".".join(p) for p in pricing_paths(ContractView)}

    assert "lines.[].billing.amount" in paths
    assert "rate_cards.[].rates.[].hourly" in paths
    assert "lines.[].billing.milestones.[].amount" in paths


def test_a_priced_field_that_cannot_be_null_is_refused_when_the_route_is_built():
    class Broken(BaseModel):
        price: MoneyView = priced("A price.")

    with pytest.raises(TypeError, match="cannot be null"):
        pricing_paths(Broken)
