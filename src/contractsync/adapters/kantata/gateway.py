"""``KantataProjectTracker``: the ProjectTracker port over Kantata workspaces, stories and events."""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpx

from contractsync.adapters.kantata.client import KantataClient
from contractsync.adapters.kantata.config import KantataSettings
from contractsync.adapters.kantata.mapping import (
    CLOSED_WORKSPACE,
    CONTRACT_MODEL,
    MILESTONE_MODEL,
    PROJECT_MODEL,
    STORY,
    WORKSPACE,
    EventLinks,
    differs,
    milestone_marker,
    milestone_ref,
    milestone_story_body,
    project_plan_from,
    story_ids,
    tracker_event_from,
    workspace_body,
    workspace_ids,
)
from contractsync.adapters.kantata.payloads import Normalized, SubscribedEvent, read
from contractsync.adapters.kantata.records import KantataRecords
from contractsync.adapters.kantata.webhooks import FeedCursor
from contractsync.domain.contract import Contract
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.systems import Page, ProjectPlan, SystemHealth, TrackerEvent

BULK_STORIES = 300
ID_BATCH = 100


class KantataProjectTracker:
    """The PSA role over one Kantata OX account.

    Kantata has no upsert: an external reference links a workspace or story to the hub's id,
    so ``upsert_project`` looks the link up, then creates or updates, then links. A create
    whose answer was lost is found by the marker in its description before any second
    create, so no duplicate workspace or milestone is made. Reads and idempotent writes are
    retried on 5xx; throttles (429) are raised as ``TransientError`` for the caller's queue.
    A closed project is an archived workspace; every lookup includes archived ones.

    Args:
        client: The account's API client.
    """

    def __init__(self, client: KantataClient) -> None:
        self.client = client
        self.settings = client.settings
        self.system = client.settings.system
        self.records = KantataRecords(client)

    @classmethod
    def connect(
        cls, settings: KantataSettings, *, transport: httpx.BaseTransport | None = None
    ) -> KantataProjectTracker:
        """Build the tracker and its client (nothing is sent until the first call)."""
        return cls(KantataClient(settings, transport=transport))

    def _ref(self, workspace_id: str) -> ExternalRef:
        return ExternalRef(system=self.system, kind="workspace", id=workspace_id)

    # -- projects ----------------------------------------------------------------------

    def find_project(self, project_id: str) -> ExternalRef | None:
        """The workspace linked to ``project_id`` (or created for it but not linked yet)."""
        found = self.records.workspace(project_id)
        return self._ref(found.id) if found else None

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Create or update the workspace and one milestone story per billing milestone.

        Raises:
            DataError: The project is not the contract's, or Kantata refused a value.
            TransientError: Kantata throttled (429) or stayed unavailable.
            AmbiguousCommitError: A create stayed unanswered and its lookup found nothing.
        """
        if project.contract_id != contract.id:
            raise DataError(
                f"Project {project.id} delivers contract {project.contract_id}, not {contract.id}.",
                code="kantata.project_contract_mismatch",
            )
        body = workspace_body(project, contract)
        current = self.records.workspace(project.id)
        if current is None:

            def lookup() -> Normalized | None:
                found = self.records.workspace(project.id)
                return self.client.get(f"/workspaces/{found.id}.json") if found else None

            created = self.client.write(
                "POST",
                "/workspaces.json",
                {"workspace": {**body, "creator_role": self.settings.creator_role}},
                lookup=lookup,
            )
            workspace_id = created.ordered("workspaces")[0]["id"]
        else:
            workspace_id = current.id
            if differs(current, body):
                self.client.write("PUT", f"/workspaces/{workspace_id}.json", {"workspace": body})
        self.records.link(WORKSPACE, workspace_id, PROJECT_MODEL, project.id)
        self.records.link(WORKSPACE, workspace_id, CONTRACT_MODEL, contract.id)
        self._sync_milestones(workspace_id, contract)
        return self._ref(workspace_id)

    def close_project(self, project: Project) -> ExternalRef:
        """Archive the project's workspace (Kantata's closed project); a second call sends nothing.

        Raises:
            DataError: ``kantata.unknown_project`` when no workspace is linked to (or marked
                with) ``project.id``.
            TransientError: Kantata throttled (429) or stayed unavailable.
        """
        found = self.records.workspace(project.id)
        if found is None:
            raise DataError(
                f"Kantata holds no workspace for project {project.id}.",
                code="kantata.unknown_project",
                remediation="Sync the project to Kantata first, or close it there by hand.",
            )
        if not found.archived:
            body = {"workspace": dict(CLOSED_WORKSPACE)}
            self.client.write("PUT", f"/workspaces/{found.id}.json", body)
        return self._ref(found.id)

    def project_plan(self, project_id: str) -> ProjectPlan | None:
        """The workspace of ``project_id`` and its milestone stories as Kantata holds them now.

        Archived workspaces are read too (``closed``); None when there is no workspace.

        Raises:
            DataError: A workspace or story cannot be read.
            TransientError: Kantata throttled (429) or stayed unavailable.
        """
        found = self.records.workspace(project_id)
        if found is None:
            return None
        links = self.records.links(WORKSPACE, subject_id=found.id, service_model=CONTRACT_MODEL)
        stories = {key: story for key, (story, _) in self.records.stories(found.id).items()}
        return project_plan_from(
            found,
            stories,
            system=self.system,
            project_id=project_id,
            contract_id=links[0].service_model_ref if links else None,
        )

    def _sync_milestones(self, workspace_id: str, contract: Contract) -> None:
        existing = self.records.stories(workspace_id)
        missing: list[tuple[str, dict[str, object]]] = []
        for _line, milestone in contract.milestones():
            key = milestone_ref(contract.id, milestone.id)
            body = milestone_story_body(contract, milestone, workspace_id=workspace_id)
            if key not in existing:
                missing.append((key, body))
                continue
            story, is_linked = existing[key]
            if differs(story, body):
                self.client.write("PUT", f"/stories/{story.id}.json", {"story": body})
            if not is_linked:
                self.records.link(STORY, story.id, MILESTONE_MODEL, key)
        for start in range(0, len(missing), BULK_STORIES):
            batch = missing[start : start + BULK_STORIES]
            markers = {milestone_marker(*key.split("/", 1)) for key, _ in batch}

            def lookup(markers: set[str] = markers) -> Normalized | None:
                # The bulk create is all or nothing: any of its markers proves it landed.
                stories = self.records.stories(workspace_id)
                return (
                    Normalized()
                    if any(milestone_marker(*k.split("/", 1)) in markers for k in stories)
                    else None
                )

            self.client.write(
                "POST", "/stories.json", {"stories": [b for _, b in batch]}, lookup=lookup
            )
        if missing:
            for key, (story, is_linked) in self.records.stories(workspace_id).items():
                if not is_linked and key in {k for k, _ in missing}:
                    self.records.link(STORY, story.id, MILESTONE_MODEL, key)

    # -- events ------------------------------------------------------------------------

    def _event_links(self, events: Iterable[SubscribedEvent]) -> EventLinks:
        events = list(events)
        spaces = sorted(set().union(*(workspace_ids(e) for e in events))) if events else []
        stories = sorted(set().union(*(story_ids(e) for e in events))) if events else []
        contracts: dict[str, str] = {}
        milestones: dict[str, tuple[str, str]] = {}
        for i in range(0, len(spaces), ID_BATCH):
            ids = ",".join(spaces[i : i + ID_BATCH])
            for link in self.records.links(WORKSPACE, subject_id=ids, service_model=CONTRACT_MODEL):
                contracts[link.subject_id] = link.service_model_ref
        for i in range(0, len(stories), ID_BATCH):
            ids = ",".join(stories[i : i + ID_BATCH])
            for link in self.records.links(STORY, subject_id=ids, service_model=MILESTONE_MODEL):
                contract_id, _, milestone_id = link.service_model_ref.partition("/")
                milestones[link.subject_id] = (contract_id, milestone_id)
        return EventLinks(contracts=contracts, milestones=milestones)

    def poll_events(self, *, cursor: str | None, limit: int) -> Page[TrackerEvent]:
        """Events after ``cursor``, each reported once however often Kantata serves it.

        ``next_cursor`` is None only when nothing new was found: keep the cursor you passed
        and poll again later. Otherwise store ``next_cursor`` once the items are processed.

        Raises:
            ConfigError: The token is not an administrator's, or the add-on is disabled (403).
            DataError: The cursor cannot be read.
            TransientError: Kantata throttled or stayed unavailable.
        """
        state = FeedCursor.decode(cursor)
        params = {"event_types": ",".join(self.settings.event_types), "include": "subject"}
        after = state.created_after(self.settings.event_overlap_seconds)
        if after is not None:
            params["created_after"] = after
        rows = self.client.get_all("/subscribed_events.json", "subscribed_events", **params)
        events = [read(SubscribedEvent, row) for row, _ in rows]
        own = self.settings.integration_user_id
        links = self._event_links(e for e in events if own is None or e.user_id != own)

        def mapped(event: SubscribedEvent) -> TrackerEvent | None:
            if own is not None and event.user_id == own:
                return None
            return tracker_event_from(event, system=self.system, links=links)

        taken, is_new = state.take(
            events,
            limit=limit,
            is_reported=lambda e: mapped(e) is not None,
            overlap_seconds=self.settings.event_overlap_seconds,
        )
        items = tuple(item for item in (mapped(e) for e in taken) if item is not None)
        return Page(items=items, next_cursor=state.encode() if is_new else None)

    def check(self) -> SystemHealth:
        """Read one workspace page with the token; never raises."""
        started = time.perf_counter()
        try:
            self.client.send("GET", "/workspaces.json", is_write=False, params={"per_page": 1})
        except ContractSyncError as error:
            return SystemHealth(
                system=self.system, ok=False, version="api/v1", detail=error.message
            )
        return SystemHealth(
            system=self.system,
            ok=True,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            version="api/v1",
            detail=f"account reachable at {self.settings.api_url}",
        )


__all__ = ["KantataProjectTracker"]
