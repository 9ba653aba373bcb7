"""Pure mapping between the canonical model and Kantata objects (no I/O).

=========================  ===============================================================
canonical                  Kantata OX
=========================  ===============================================================
Project                    workspace: title = name, start/due date = contract term,
                           description ends with the marker ``[contractsync project <id>]``
project id / contract id   external references on the workspace (models ``project`` and
                           ``contract``, service ``contractsync``)
BillingMilestone           story: story_type ``milestone``, title = name, due_date, marker
                           ``[contractsync milestone <contract>/<milestone>]``; external
                           reference model ``milestone``, ref ``<contract>/<milestone>``
closed project             workspace ``archived`` (``close_project``; read back as
                           ``ProjectPlan.closed``)
=========================  ===============================================================

Read back (``project_plan_from``), a workspace is a ``ProjectPlan``: title, start and due
dates, archived; each story linked to (or marked with) a milestone ref is a
``PlannedMilestone`` with the story's title and due date, ``completed`` when its state is.
Kantata holds no milestone amounts.

Subscribed events become ``TrackerEvent`` s:

===========================================  =============================================
story:updated (or :created), milestone,      ``milestone.completed``
state becomes ``completed``
the same, state leaves ``completed``          ``milestone.reopened``
time_entry:created                           ``time.logged`` (minutes, day, billable)
workspace:updated                            ``project.updated`` (the changed fields)
anything else                                not reported
===========================================  =============================================

The markers let a create whose answer was lost be found before its link exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contractsync.adapters.kantata.payloads import Story, SubscribedEvent, Workspace
from contractsync.domain.contract import Contract
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.project import Project
from contractsync.ports.systems import PlannedMilestone, ProjectPlan, TrackerEvent

WORKSPACE, STORY = "Workspace", "Story"
PROJECT_MODEL, CONTRACT_MODEL, MILESTONE_MODEL = "project", "contract", "milestone"
COMPLETED = "completed"
CLOSED_WORKSPACE: Mapping[str, Any] = {"archived": True}
"""The workspace attributes that close a project (an archived project in Kantata)."""


def project_marker(project_id: str) -> str:
    """The text a workspace's description carries for ``project_id``."""
    return f"[contractsync project {project_id}]"


def milestone_ref(contract_id: str, milestone_id: str) -> str:
    """The external id of a milestone story (ids never contain ``/``)."""
    return f"{contract_id}/{milestone_id}"


def milestone_marker(contract_id: str, milestone_id: str) -> str:
    """The text a milestone story's description carries."""
    return f"[contractsync milestone {milestone_ref(contract_id, milestone_id)}]"


def workspace_body(project: Project, contract: Contract) -> dict[str, Any]:
    """The workspace attributes the hub owns (``creator_role`` is added on create only)."""
    return {
        "title": project.name,
        "description": f"{contract.title}\n\n{project_marker(project.id)}",
        "start_date": contract.term.start.isoformat(),
        "due_date": contract.term.end.isoformat(),
    }


def milestone_story_body(
    contract: Contract, milestone: BillingMilestone, *, workspace_id: str
) -> dict[str, Any]:
    """The story attributes of a billing milestone (its state is Kantata's, never sent)."""
    trigger = f"Trigger: {milestone.trigger}\n\n" if milestone.trigger else ""
    return {
        "title": milestone.name,
        "story_type": "milestone",
        "workspace_id": workspace_id,
        "due_date": milestone.due_date.isoformat() if milestone.due_date else None,
        "description": f"{trigger}{milestone_marker(contract.id, milestone.id)}",
    }


def project_plan_from(
    workspace: Workspace,
    stories: Mapping[str, Story],
    *,
    system: str,
    project_id: str,
    contract_id: str | None,
) -> ProjectPlan:
    """The PSA plan a workspace and its milestone stories hold now.

    Args:
        workspace: The project's workspace.
        stories: The workspace's stories by milestone ref ``<contract>/<milestone>``, in
            Kantata's order (linked by an external reference or marked in their description).
        system: The system name the plan's ref carries.
        project_id: The canonical project id the workspace is linked to.
        contract_id: The contract the workspace is linked to, if any.
    """
    milestones = tuple(
        PlannedMilestone(
            id=key.partition("/")[2],
            name=story.title,
            due_date=story.due_date,
            status="completed" if story.state == COMPLETED else "open",
        )
        for key, story in stories.items()
        if key.partition("/")[2]
    )
    return ProjectPlan(
        project=ExternalRef(system=system, kind="workspace", id=workspace.id),
        project_id=project_id,
        contract_id=contract_id,
        name=workspace.title,
        start=workspace.start_date,
        end=workspace.due_date,
        milestones=milestones,
        closed=workspace.archived,
    )


def differs(current: Workspace | Story, body: Mapping[str, Any]) -> bool:
    """True when writing ``body`` would change ``current``."""
    values = current.model_dump(mode="json")
    return any(values.get(k) != v for k, v in body.items() if k in values)


def event_fingerprint(event: SubscribedEvent) -> str:
    """A key equal for every copy of one change, whatever id a duplicate carries."""
    changed = event.subject_changed_at.isoformat() if event.subject_changed_at else ""
    text = json.dumps(
        [event.event_type, event.subject_type, event.subject_id, changed, event.payload_changes],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class EventLinks:
    """What the hub's external references say about the subjects of a batch of events.

    Attributes:
        contracts: Workspace id -> canonical contract id.
        milestones: Story id -> ``(contract id, milestone id)``.
    """

    contracts: Mapping[str, str] = field(default_factory=dict)
    milestones: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def _workspace_of(event: SubscribedEvent) -> str | None:
    if event.subject_type == WORKSPACE:
        return event.subject_id
    value = event.current_payload.get("workspace_id") or event.previous_payload.get("workspace_id")
    return str(value) if value is not None else None


def _kind(event: SubscribedEvent) -> str | None:
    if event.subject_type == STORY and event.event_type in ("story:created", "story:updated"):
        if event.current_payload.get("story_type") != "milestone":
            return None
        was = event.previous_payload.get("state")
        now = event.current_payload.get("state")
        if now == COMPLETED and was != COMPLETED:
            return "milestone.completed"
        if was == COMPLETED and now != COMPLETED and event.event_type == "story:updated":
            return "milestone.reopened"
        return None
    if event.event_type == "time_entry:created":
        return "time.logged"
    if event.event_type == "workspace:updated":
        return "project.updated"
    return None


def tracker_event_from(
    event: SubscribedEvent, *, system: str, links: EventLinks
) -> TrackerEvent | None:
    """The hub's view of one subscribed event, or None when the hub does not follow it."""
    kind = _kind(event)
    workspace = _workspace_of(event)
    if kind is None or workspace is None:
        return None
    payload = event.current_payload
    data: dict[str, str] = {"source_event": event.event_type}
    milestone_id = None
    story = str(payload.get("story_id") or "") if event.subject_type != STORY else event.subject_id
    if story in links.milestones:
        milestone_id = links.milestones[story][1]
    if kind.startswith("milestone."):
        data.update(title=str(payload.get("title", "")), state=str(payload.get("state", "")))
    elif kind == "time.logged":
        data.update(
            minutes=str(payload.get("time_in_minutes", "")),
            day=str(payload.get("date_performed", "")),
            billable=str(payload.get("billable", "")).lower(),
        )
    else:
        data["changed"] = ",".join(sorted(event.payload_changes))
    return TrackerEvent(
        event_id=event.id,
        kind=kind,
        project_ref=ExternalRef(system=system, kind="workspace", id=workspace),
        contract_id=links.contracts.get(workspace),
        milestone_id=milestone_id,
        occurred_at=event.subject_changed_at or event.created_at,
        data=data,
    )


def workspace_ids(event: SubscribedEvent) -> set[str]:
    """The workspaces an event concerns (to look their links up)."""
    found = _workspace_of(event)
    return {found} if found else set()


def story_ids(event: SubscribedEvent) -> set[str]:
    """The stories an event concerns (to look their links up)."""
    if event.subject_type == STORY:
        return {event.subject_id}
    story = event.current_payload.get("story_id")
    return {str(story)} if story else set()


__all__ = [
    "CLOSED_WORKSPACE",
    "COMPLETED",
    "CONTRACT_MODEL",
    "MILESTONE_MODEL",
    "PROJECT_MODEL",
    "STORY",
    "WORKSPACE",
    "EventLinks",
    "differs",
    "event_fingerprint",
    "milestone_marker",
    "milestone_ref",
    "milestone_story_body",
    "project_marker",
    "project_plan_from",
    "story_ids",
    "tracker_event_from",
    "workspace_body",
    "workspace_ids",
]
