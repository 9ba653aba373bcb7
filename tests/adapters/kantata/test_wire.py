"""The simulator checked by an independent client: hand-built httpx requests over loopback.

Each request is written from Kantata OX's documented format (``reference/vendors.md`` §5.1),
not through the adapter.
"""

from __future__ import annotations

from typing import Any

from tests.adapters.kantata.conftest import Served

WORKSPACE = {"workspace": {"title": "Rollout", "creator_role": "maven"}}


def create_workspace(served: Served) -> str:
    with served.api() as api:
        created = api.post("/workspaces.json", json=WORKSPACE)
    assert created.status_code == 200
    return str(created.json()["results"][0]["id"])


def test_answers_are_normalized_with_results_objects_by_id_and_meta(served: Served) -> None:
    for _ in range(3):
        create_workspace(served)
    with served.api() as api:
        first = api.get("/workspaces.json", params={"per_page": 2}).json()
        second = api.get("/workspaces.json", params={"per_page": 2, "page": 2}).json()
    assert set(first) == {"count", "results", "workspaces", "meta"}
    assert first["count"] == 3
    assert first["meta"] == {"count": 3, "page_count": 2, "page_number": 1, "page_size": 2}
    assert [r["key"] for r in first["results"]] == ["workspaces", "workspaces"]
    for ref in first["results"]:
        assert first["workspaces"][ref["id"]]["id"] == ref["id"]
    assert len(second["results"]) == 1
    assert second["meta"]["page_number"] == 2


def test_a_refused_create_lists_every_validation_error(served: Served) -> None:
    with served.api() as api:
        refused = api.post("/workspaces.json", json={"workspace": {"description": "no title"}})
    assert refused.status_code == 422
    assert refused.json() == {
        "errors": [
            {"type": "validation", "message": "Please give your project a title", "field": "title"},
            {
                "type": "validation",
                "message": "Please select a role for this project",
                "field": "creator_role",
            },
        ]
    }


def test_bad_tokens_unknown_records_and_missing_filters_answer_401_404_400(served: Served) -> None:
    with served.api(token="nope") as api:
        unauthorized = api.get("/workspaces.json")
    with served.api() as api:
        missing = api.get("/workspaces/999999.json")
        no_subject_type = api.get("/external_references.json")
    assert unauthorized.status_code == 401
    assert unauthorized.json()["errors"][0]["type"] == "oauth"
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["type"] == "system"
    assert no_subject_type.status_code == 400


def test_bulk_story_creates_take_up_to_300_with_a_plural_key(served: Served) -> None:
    workspace = create_workspace(served)

    def stories(n: int) -> dict[str, Any]:
        rows = [
            {"title": f"M{i}", "workspace_id": workspace, "story_type": "milestone"}
            for i in range(n)
        ]
        return {"stories": rows}

    with served.api() as api:
        created = api.post("/stories.json", json=stories(300))
        too_many = api.post("/stories.json", json=stories(301))
        listed = api.get(
            "/stories.json", params={"workspace_id": workspace, "per_page": 200}
        ).json()
    assert created.status_code == 200
    assert created.json()["count"] == 300
    assert {s["story_type"] for s in created.json()["stories"].values()} == {"milestone"}
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "stories"
    assert listed["meta"]["page_count"] == 2


def test_bulk_time_entries_take_up_to_100(served: Served) -> None:
    workspace = create_workspace(served)
    entry = {"workspace_id": workspace, "date_performed": "2025-01-23", "time_in_minutes": 60}
    with served.api() as api:
        created = api.post("/time_entries.json", json={"time_entries": [entry] * 100})
        too_many = api.post("/time_entries.json", json={"time_entries": [entry] * 101})
        invalid = api.post(
            "/time_entries.json", json={"time_entry": {**entry, "time_in_minutes": 0}}
        )
    assert created.json()["count"] == 100
    assert too_many.status_code == 422
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "time_in_minutes"


def test_external_references_create_or_update_one_link_and_filter_by_subject(
    served: Served,
) -> None:
    workspace = create_workspace(served)
    link = {
        "subject_type": "Workspace",
        "subject_id": int(workspace),
        "service_name": "erp",
        "service_model": "project",
        "service_model_ref": "P-1",
    }
    with served.api() as api:
        first = api.post(
            "/external_references/create_or_update.json", json={"external_reference": link}
        )
        again = api.post(
            "/external_references/create_or_update.json",
            json={"external_reference": {**link, "service_model_ref": "P-1b"}},
        )
        found = api.get("/external_references.json", params={"subject_type": "Workspace"}).json()
        other_type = api.get("/external_references.json", params={"subject_type": "Story"}).json()
    assert first.json()["results"][0]["id"] == again.json()["results"][0]["id"]
    assert [r["service_model_ref"] for r in found["external_references"].values()] == ["P-1b"]
    assert other_type["count"] == 0


def test_past_the_configured_rate_requests_get_429_with_an_errors_array(served: Served) -> None:
    with served.operator() as operator:
        operator.post("/scenarios/set_rate_limit", json={"requests_per_minute": 3})
    with served.api() as api:
        statuses = [api.get("/workspaces.json").status_code for _ in range(4)]
        refused = api.get("/workspaces.json")
    assert statuses == [200, 200, 200, 429]
    assert refused.json()["errors"][0]["type"] == "system"
    with served.operator() as operator:
        operator.post("/scenarios/advance_clock", json={"seconds": 61})
    with served.api() as api:
        assert api.get("/workspaces.json").status_code == 200


def events(served: Served, **params: str) -> dict[str, Any]:
    with served.api() as api:
        answer = api.get("/subscribed_events.json", params={"per_page": 200, **params})
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_subscribed_events_carry_the_documented_fields_and_include_the_subject(
    served: Served,
) -> None:
    workspace = create_workspace(served)
    with served.operator() as operator:
        operator.post(
            "/scenarios/edit_workspace",
            json={"workspace_id": workspace, "fields": {"title": "Renamed"}},
        )
    body = events(served, event_types="workspace:updated", include="subject")
    (ref,) = body["results"]
    event = body["subscribed_events"][ref["id"]]
    assert set(event) == {
        "account_id",
        "created_at",
        "current_payload",
        "previous_payload",
        "payload_changes",
        "event_type",
        "subject_changed_at",
        "subject_id",
        "subject_type",
        "subject_ref",
        "user_id",
    }
    assert (event["event_type"], event["subject_type"], event["subject_id"]) == (
        "workspace:updated",
        "Workspace",
        int(workspace),
    )
    assert event["subject_ref"] == {"key": "workspaces", "id": workspace}
    assert body["workspaces"][workspace]["title"] == "Renamed"
    assert '"title": ["Rollout", "Renamed"]' in event["payload_changes"]


def test_subscribed_events_can_be_duplicated_reordered_and_late(served: Served) -> None:
    workspace = create_workspace(served)
    delivery = {"duplicate_rate": 1.0, "reorder": True, "max_visibility_lag_seconds": 300}
    with served.operator() as operator:
        operator.post("/scenarios/set_event_delivery", json=delivery)
        logged = operator.post(
            "/scenarios/log_time", json={"workspace_id": workspace, "count": 8}
        ).json()
        operator.post("/scenarios/advance_clock", json={"seconds": 900})
    body = events(served, event_types="time_entry:created")
    ids = [r["id"] for r in body["results"]]
    assert sorted(set(ids), key=int) == sorted(logged["event_ids"], key=int)
    assert len(ids) == 16  # every event served twice, under the same id
    assert len(body["subscribed_events"]) == 8
    created = [body["subscribed_events"][i]["created_at"] for i in ids]
    assert ids != sorted(ids, key=int) or created != sorted(created)


def test_events_older_than_nine_days_are_gone_and_the_add_on_can_be_off(served: Served) -> None:
    workspace = create_workspace(served)
    assert events(served)["count"] == 1
    with served.operator() as operator:
        operator.post("/scenarios/advance_clock", json={"seconds": 9 * 86_400 + 1})
    assert events(served)["count"] == 0
    with served.operator() as operator:
        operator.post("/scenarios/set_event_delivery", json={"enabled": False})
    with served.api() as api:
        forbidden = api.get("/subscribed_events.json")
    assert workspace
    assert forbidden.status_code == 403
