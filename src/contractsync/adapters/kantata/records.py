"""What the tracker reads and links in a Kantata account: workspaces, stories, external refs."""

from __future__ import annotations

from contractsync.adapters.kantata.client import KantataClient
from contractsync.adapters.kantata.mapping import (
    MILESTONE_MODEL,
    PROJECT_MODEL,
    WORKSPACE,
    project_marker,
)
from contractsync.adapters.kantata.payloads import ExternalReference, Story, Workspace, read


class KantataRecords:
    """The hub's records in one account, found by their external references or markers.

    A link (external reference) ties a workspace or story to a hub id under the configured
    ``service_name``; a marker in the description finds a record whose link was never made
    (its create answer was lost). Archived workspaces are always included.

    Args:
        client: The account's API client.
    """

    def __init__(self, client: KantataClient) -> None:
        self.client = client
        self.service_name = client.settings.service_name

    def links(self, subject_type: str, **filters: str) -> list[ExternalReference]:
        """The hub's links of ``subject_type`` matching ``filters`` (comma lists allowed)."""
        params = {
            "subject_type": subject_type,
            "service_name": self.service_name,
            **filters,
        }
        rows = self.client.get_all("/external_references.json", "external_references", **params)
        links = [read(ExternalReference, row) for row, _ in rows]
        # Filter here too: unknown filters may be ignored by the server ([U]).
        return [
            link
            for link in links
            if link.service_name == self.service_name
            and all(getattr(link, k) in v.split(",") for k, v in filters.items())
        ]

    def link(self, subject_type: str, subject_id: str, model: str, ref: str) -> None:
        """Link a Kantata object to hub id ``ref`` of ``model`` (create or update: idempotent)."""
        body = {
            "external_reference": {
                "subject_type": subject_type,
                "subject_id": int(subject_id),
                "service_name": self.service_name,
                "service_model": model,
                "service_model_ref": ref,
                "status": "successful",
            }
        }
        self.client.write("POST", "/external_references/create_or_update.json", body)

    def workspace(self, project_id: str) -> Workspace | None:
        """The workspace linked to ``project_id``, else the one marked with it, else None."""
        linked = self.links(WORKSPACE, service_model=PROJECT_MODEL, service_model_ref=project_id)
        for link in linked:
            found = self.client.get(
                "/workspaces.json", only=link.subject_id, include_archived="true"
            )
            rows = found.ordered("workspaces")
            if rows:
                return read(Workspace, rows[0])
        marker = project_marker(project_id)
        pages = self.client.get_all(
            "/workspaces.json", "workspaces", search=marker, include_archived="true"
        )
        adopted = [read(Workspace, r) for r, _ in pages if marker in (r.get("description") or "")]
        return adopted[0] if adopted else None

    def stories(self, workspace_id: str) -> dict[str, tuple[Story, bool]]:
        """The workspace's milestone stories by milestone ref, and whether each is linked."""
        found: dict[str, tuple[Story, bool]] = {}
        rows = self.client.get_all(
            "/stories.json", "stories", workspace_id=workspace_id, include="external_references"
        )
        for row, page in rows:
            story = read(Story, row)
            refs = [
                page.included("external_references").get(i, {})
                for i in story.external_reference_ids
            ]
            for ref in refs:
                if (
                    ref.get("service_name") == self.service_name
                    and ref.get("service_model") == MILESTONE_MODEL
                ):
                    found[str(ref["service_model_ref"])] = (story, True)
            text = story.description or ""
            if "[contractsync milestone " in text:
                key = text.rsplit("[contractsync milestone ", 1)[1].rstrip("]").strip()
                found.setdefault(key, (story, False))
        return found


__all__ = ["KantataRecords"]
