"""The Ironclad simulator, checked by hand-built requests written from Ironclad's documented format.

Nothing here uses the hub's Ironclad adapter: requests are plain httpx calls as
``reference/vendors.md`` §2 describes them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from contractsync.simulators.ironclad import RETRY_DELAYS, IroncladSimulator
from tests.adapters.ironclad.conftest import USER, Clock, headers, launch, token

API = "/public/api/v1"


def test_client_credentials_token_needs_an_acting_user_header(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        bearer = {"Authorization": f"Bearer {token(http)}"}
        refused = http.get(f"{API}/workflows", headers=bearer)
        accepted = http.get(f"{API}/workflows", headers={**bearer, "x-as-user-email": USER})
        by_id = http.get(f"{API}/workflows", headers={**bearer, "x-as-user-id": "63d415e0dd0d"})
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "MISSING_PARAM",
        "message": refused.json()["message"],
        "param": "x-as-user-email",
    }
    assert accepted.status_code == 200
    assert by_id.status_code == 200


def test_an_unknown_acting_user_is_an_invalid_param(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        answer = http.get(f"{API}/workflows", headers=headers(http, user="who@nowhere.example"))
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_PARAM"
    assert answer.json()["param"] == "x-as-user-email"


def test_a_legacy_api_key_needs_no_acting_user(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        answer = http.get(f"{API}/workflows", headers={"Authorization": "Bearer sim-api-key"})
    assert answer.status_code == 200


def test_refused_client_credentials_and_unknown_tokens(sim: IroncladSimulator) -> None:
    form = {"grant_type": "client_credentials", "client_id": "sim-client", "client_secret": "no"}
    with sim.client() as http:
        refused = http.post("/oauth/token", data=form)
        unknown = http.get(f"{API}/workflows", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert unknown.status_code == 401


def test_listing_pages_with_page_and_page_size(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        auth = headers(http)
        ids = [launch(http, workflow_id=f"{n:024x}") for n in range(1, 6)]
        pages = [
            http.get(f"{API}/workflows", params={"page": p, "pageSize": 2}, headers=auth).json()
            for p in range(4)
        ]
    assert [(p["page"], p["pageSize"], p["count"]) for p in pages] == [(p, 2, 5) for p in range(4)]
    assert [w["id"] for p in pages for w in p["list"]] == ids
    assert pages[3]["list"] == []
    first = pages[0]["list"][0]
    assert {"id", "ironcladId", "title", "template", "step", "attributes", "status"} <= set(first)
    assert first["ironcladId"] == "IC-1"


def test_the_listing_filters_by_status_and_defaults_to_active(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        auth = headers(http)
        done, _ = launch(http, workflow_id="a" * 24), launch(http, workflow_id="b" * 24)
        http.post("/_sim/scenarios/approve_workflow", json={"workflow_id": done})
        http.post("/_sim/scenarios/complete_workflow", json={"workflow_id": done})
        default = http.get(f"{API}/workflows", headers=auth).json()
        completed = http.get(f"{API}/workflows", params={"status": "completed"}, headers=auth)
        both = http.get(f"{API}/workflows", params={"status": "active,completed"}, headers=auth)
    assert [w["id"] for w in default["list"]] == ["b" * 24]
    assert [w["id"] for w in completed.json()["list"]] == [done]
    assert completed.json()["list"][0]["isComplete"] is True
    assert both.json()["count"] == 2


@pytest.mark.parametrize(
    ("param", "value"), [("pageSize", "101"), ("pageSize", "0"), ("page", "x")]
)
def test_out_of_range_paging_is_an_invalid_param(
    sim: IroncladSimulator, param: str, value: str
) -> None:
    with sim.client() as http:
        answer = http.get(f"{API}/workflows", params={param: value}, headers=headers(http))
    assert answer.status_code == 400
    assert answer.json()["code"] == "INVALID_PARAM"
    assert answer.json()["param"] == param


def test_an_unknown_workflow_answers_the_error_body(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        answer = http.get(f"{API}/workflows/{'0' * 24}", headers=headers(http))
    assert answer.status_code == 404
    assert set(answer.json()) == {"code", "message", "param"}
    assert answer.json()["code"] == "NOT_FOUND"


def test_a_workflow_is_read_by_id_or_ironclad_id(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        auth = headers(http)
        workflow_id = launch(http)
        by_id = http.get(f"{API}/workflows/{workflow_id}", headers=auth).json()
        by_number = http.get(f"{API}/workflows/IC-1", headers=auth).json()
    assert by_id == by_number
    attributes = by_id["attributes"]
    assert attributes["counterpartyName"] == "Harborview Health Partners LLC"
    assert attributes["contractValue"] == {"currency": "USD", "amount": 504000}
    assert attributes["milestones"][0]["milestoneAmount"] == {"currency": "USD", "amount": 96000}
    assert by_id["schema"]["contractValue"]["type"] == "monetaryAmount"
    assert by_id["approvals"] == {"state": "in_progress", "url": by_id["approvals"]["url"]}


def test_launch_validates_template_and_attributes(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        auth = headers(http)
        no_template = http.post(f"{API}/workflows", json={"attributes": {}}, headers=auth)
        bad_template = http.post(
            f"{API}/workflows", json={"template": "nope", "attributes": {}}, headers=auth
        )
        template = sim.company.template_id
        no_party = http.post(
            f"{API}/workflows", json={"template": template, "attributes": {}}, headers=auth
        )
        launched = http.post(
            f"{API}/workflows",
            json={"template": template, "attributes": {"counterpartyName": "Acme"}},
            headers=auth,
        )
    assert (no_template.status_code, no_template.json()["code"]) == (400, "MISSING_PARAM")
    assert (bad_template.json()["code"], bad_template.json()["param"]) == (
        "INVALID_PARAM",
        "template",
    )
    assert no_party.json()["code"] == "MISSING_PARAM"
    assert launched.status_code == 200
    assert launched.json()["attributes"] == {"counterpartyName": "Acme"}


def test_approvals_run_in_order_and_complete_the_review(sim: IroncladSimulator) -> None:
    with sim.client() as http:
        auth = headers(http)
        wid = launch(http)
        listed = http.get(f"{API}/workflows/{wid}/approvals", headers=auth).json()
        early = http.patch(
            f"{API}/workflows/{wid}/approvals/finance", json={"status": "approved"}, headers=auth
        )
        unknown = http.patch(
            f"{API}/workflows/{wid}/approvals/ceo", json={"status": "approved"}, headers=auth
        )
        legal = http.patch(
            f"{API}/workflows/{wid}/approvals/legal", json={"status": "approved"}, headers=auth
        )
        finance = http.patch(
            f"{API}/workflows/{wid}/approvals/finance", json={"status": "approved"}, headers=auth
        )
        after = http.get(f"{API}/workflows/{wid}", headers=auth).json()
    assert [g["status"] for g in listed["approvalGroups"]] == ["active", "pending"]
    assert listed["approvalGroups"][0]["reviewers"][0]["role"] == "legal"
    assert (early.status_code, early.json()["code"]) == (400, "INVALID_STATE")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "INVALID_PARAM")
    assert legal.json() is True
    assert finance.json() is True
    assert after["approvals"] == {"state": "completed"}
    assert after["step"] == "Sign"


def test_each_bucket_answers_429_on_its_own(make_sim: Callable[..., IroncladSimulator]) -> None:
    sim = make_sim(rate_limits={"pub:workflows:read": 3, "pub:workflows:write": 2})
    template = sim.company.template_id
    body = {"template": template, "attributes": {"counterpartyName": "Acme"}}
    with sim.client() as http:
        auth = headers(http)
        writes = [http.post(f"{API}/workflows", json=body, headers=auth) for _ in range(3)]
        reads = [http.get(f"{API}/workflows", headers=auth) for _ in range(4)]
    assert [r.status_code for r in writes] == [200, 200, 429]
    assert [r.status_code for r in reads] == [200, 200, 200, 429]
    assert set(writes[2].json()) == {"code", "message", "param"}
    assert int(writes[2].headers["Retry-After"]) >= 1


def test_a_spent_bucket_refills_after_the_minute(
    make_sim: Callable[..., IroncladSimulator], clock: Clock
) -> None:
    clock.now = 1_760_000_080.0  # 20 s before a minute window ends (windows start at :040)
    sim = make_sim(rate_limits={"pub:workflows:read": 1})
    with sim.client() as http:
        auth = headers(http)
        first = http.get(f"{API}/workflows", headers=auth)
        spent = http.get(f"{API}/workflows", headers=auth)
        clock.advance(20)
        refilled = http.get(f"{API}/workflows", headers=auth)
    assert (first.status_code, spent.status_code, refilled.status_code) == (200, 429, 200)
    assert spent.headers["Retry-After"] == "20"


def test_the_default_buckets_are_400_reads_and_40_writes(sim: IroncladSimulator) -> None:
    assert sim.company.buckets.limits == {"pub:workflows:read": 400, "pub:workflows:write": 40}


def test_webhook_retries_follow_ten_exponential_backoffs_over_about_13_6_hours() -> None:
    assert len(RETRY_DELAYS) == 10
    assert all(later == 2 * earlier for earlier, later in itertools.pairwise(RETRY_DELAYS))
    assert 13.5 * 3600 <= sum(RETRY_DELAYS) <= 13.7 * 3600
