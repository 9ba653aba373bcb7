"""Canonical ⇄ Kantata objects (and back as a ProjectPlan) and subscribed events → TrackerEvent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contractsync.adapters.kantata.mapping import (
    CLOSED_WORKSPACE,
    EventLinks,
    differs,
    event_fingerprint,
    milestone_ref,
    milestone_story_body,
    project_plan_from,
    tracker_event_from,
    workspace_body,
)
from contractsync.adapters.kantata.payloads import Normalized, Story, SubscribedEvent, Workspace
from contractsync.adapters.kantata.webhooks import FeedCursor
from contractsync.domain.contract import Contract
from contractsync.domain.project import Project
from contractsync.errors import DataError
from contractsync.ports.systems import ProjectPlan, TrackerEvent

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kantata"
LINKS = EventLinks(contracts={"1001": "K-P-1"}, milestones={"1002": ("K-P-1", "M1")})
EVENTS = json.loads((FIXTURES / "tracker_events.json").read_text())


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def event(name: str, **changes: Any) -> SubscribedEvent:
    return SubscribedEvent.model_validate(fixture(name) | changes)


def test_a_project_maps_to_its_workspace_and_milestones_to_stories() -> None:
    project = Project.model_validate(fixture("project_p1"))
    contract = Contract.model_validate(fixture("contract_p1"))
    assert workspace_body(project, contract) == fixture("workspace_p1_body")
    milestone = contract.milestones()[0][1]
    body = milestone_story_body(contract, milestone, workspace_id="1001")
    assert body == fixture("milestone_story_p1_m1_body")


def test_a_workspace_and_its_milestone_stories_map_back_to_the_psa_plan() -> None:
    stories = {
        key: Story.model_validate(row)
        for key, row in fixture("milestone_stories_p1_records").items()
    }
    plan = project_plan_from(
        Workspace.model_validate(fixture("workspace_p1_record")),
        stories,
        system="kantata",
        project_id="P-1",
        contract_id="K-P-1",
    )
    assert plan == ProjectPlan.model_validate(fixture("project_plan_p1"))


def test_a_project_written_to_kantata_reads_back_as_the_contracts_plan() -> None:
    project = Project.model_validate(fixture("project_p1"))
    contract = Contract.model_validate(fixture("contract_p1"))
    workspace = Workspace.model_validate({"id": "1001", **workspace_body(project, contract)})
    stories = {
        milestone_ref(contract.id, m.id): Story.model_validate(
            {"id": f"20{n}", **milestone_story_body(contract, m, workspace_id="1001")}
        )
        for n, (_, m) in enumerate(contract.milestones())
    }
    plan = project_plan_from(
        workspace, stories, system="kantata", project_id=project.id, contract_id=contract.id
    )
    assert (plan.name, plan.start, plan.end, plan.closed) == (
        project.name,
        contract.term.start,
        contract.term.end,
        False,
    )
    expected = [(m.id, m.name, m.due_date, "open") for _, m in contract.milestones()]
    assert [(m.id, m.name, m.due_date, m.status) for m in plan.milestones] == expected
    closed = workspace.model_copy(update=dict(CLOSED_WORKSPACE))
    assert project_plan_from(
        closed, stories, system="kantata", project_id=project.id, contract_id=contract.id
    ).closed


def test_a_workspace_or_story_as_written_needs_no_update() -> None:
    body = fixture("workspace_p1_body")
    workspace = Workspace.model_validate({"id": "1001", **body, "creator_role": "maven"})
    assert not differs(workspace, body)
    assert differs(workspace, {**body, "title": "Renamed"})
    story = Story.model_validate({"id": "1002", **fixture("milestone_story_p1_m1_body")})
    assert not differs(story, fixture("milestone_story_p1_m1_body"))


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_a_subscribed_event_maps_to_its_tracker_event(name: str) -> None:
    expected = EVENTS[name]
    mapped = tracker_event_from(event(name), system="kantata", links=LINKS)
    assert mapped == (TrackerEvent.model_validate(expected) if expected else None)


def test_payloads_sent_as_objects_read_like_payloads_sent_as_json_text() -> None:
    raw = fixture("event_story_completed")
    as_objects = raw | {
        k: json.loads(raw[k]) for k in ("current_payload", "previous_payload", "payload_changes")
    }
    assert SubscribedEvent.model_validate(as_objects) == SubscribedEvent.model_validate(raw)


def test_an_event_on_an_unlinked_workspace_is_reported_without_a_contract() -> None:
    mapped = tracker_event_from(event("event_time_logged"), system="kantata", links=EventLinks())
    assert mapped is not None
    assert (mapped.contract_id, mapped.milestone_id) == (None, None)


def test_a_duplicate_with_another_id_has_the_same_fingerprint() -> None:
    original = event("event_story_completed")
    assert event_fingerprint(event("event_story_completed", id="99")) == event_fingerprint(original)
    assert event_fingerprint(event("event_story_reopened")) != event_fingerprint(original)


def test_normalized_answers_read_in_results_order_with_duplicates() -> None:
    raw = {
        "count": 3,
        "results": [
            {"key": "subscribed_events", "id": "7"},
            {"key": "subscribed_events", "id": "5"},
            {"key": "subscribed_events", "id": "7"},
        ],
        "subscribed_events": {"5": {"a": 1}, "7": {"a": 2}},
        "meta": {"count": 3, "page_count": 1, "page_number": 1, "page_size": 20},
    }
    rows = Normalized.read(raw).ordered("subscribed_events")
    assert [r["id"] for r in rows] == ["7", "5", "7"]
    with pytest.raises(DataError):
        Normalized.read({"errors": []})


def test_the_cursor_takes_oldest_first_skips_seen_copies_and_round_trips() -> None:
    names = ["event_workspace_updated", "event_story_completed", "event_time_logged"]
    events = [event(n) for n in names] + [event("event_story_completed", id="99")]
    cursor = FeedCursor()
    taken, is_new = cursor.take(events, limit=2, is_reported=lambda _e: True, overlap_seconds=900)
    assert is_new
    assert [e.id for e in taken] == ["44", "41"]
    again = FeedCursor.decode(cursor.encode())
    assert again.created_after(900) == "2026-02-27T16:16:10Z"
    assert again.watermark is not None
    # Kantata answers only what was created after the cursor's window start.
    window = [e for e in events if e.created_at.timestamp() > again.watermark - 900]
    rest, _ = again.take(window, limit=5, is_reported=lambda _e: True, overlap_seconds=900)
    assert [e.id for e in rest] == ["45"]
    window = [e for e in events if e.created_at.timestamp() > again.watermark - 900]
    none_left = again.take(window, limit=5, is_reported=lambda _e: True, overlap_seconds=900)
    assert none_left == ([], False)
    with pytest.raises(DataError):
        FeedCursor.decode("not-a-cursor")
