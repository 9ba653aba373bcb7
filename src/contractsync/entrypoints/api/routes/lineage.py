"""``GET /contracts/{id}/lineage``: every system's refs and what touched the contract, in order."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.problems import not_found
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.routes.customers import RecordId
from contractsync.entrypoints.api.schemas.activity import (
    LineageEntry,
    LineageRef,
    LineageResponse,
)
from contractsync.entrypoints.api.security import require
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.views import LinkedRef

INBOX_CAUSE = "inbox:"
"""Prefix of a record version's cause naming the inbox message that wrote it."""

_EVENTS_LIMIT = 1000
# What happened first comes first when two entries share an instant: the message arrives,
# the record is written, linked, then announced.
_RANK = {"inbox_message": 0, "version": 1, "ref_linked": 2, "exception": 3, "event": 4}


def lineage_router(container: ApiContainer) -> APIRouter:
    """The router serving a contract's lineage."""
    router = APIRouter(tags=["contracts"], route_class=ProcessRoute)

    @router.get(
        "/contracts/{contract_id}/lineage",
        response_model=LineageResponse,
        operation_id="getContractLineage",
        summary="Trace a contract across systems",
        responses=documented(404, paged=True),
        dependencies=[require("contracts:read", "events:read")],
    )
    def get_lineage(
        contract_id: RecordId, request: Request, response: Response, page: Paging
    ) -> LineageResponse:
        """Every system's refs for the contract, and what touched it, oldest first.

        Refs of the contract, its customer and projects; then the messages, versions, links,
        exceptions and events that touched it (the timeline is paged).
        """
        after = page.position(f"lineage:{contract_id}")
        with container.uow_factory() as uow:
            contract = uow.records.get("contract", contract_id)
            if contract is None:
                raise not_found("contract", contract_id)
            customer_id = str(contract.get("customer_id", ""))
            projects = [
                p.id for p in uow.views.records("project", where=("contract_id", contract_id))
            ]
            refs = [
                *uow.views.refs_of("contract", contract_id),
                *uow.views.refs_of("customer", customer_id),
                *(ref for pid in projects for ref in uow.views.refs_of("project", pid)),
            ]
            timeline = _timeline(uow, contract_id, projects, refs)
        rows = [pair for pair in timeline if after is None or pair[0] > after]
        pairs, next_cursor = cut(
            rows[: page.limit + 1],
            page,
            listing=f"lineage:{contract_id}",
            position_of=lambda pair: pair[0],
            request=request,
            response=response,
        )
        return LineageResponse(
            contract_id=contract_id,
            correlation_id=contract_id,
            customer_id=customer_id,
            project_ids=projects,
            refs=[_ref_view(ref) for ref in refs],
            items=[entry for _, entry in pairs],
            next_cursor=next_cursor,
        )

    return router


def _timeline(
    uow: UnitOfWork, contract_id: str, projects: list[str], refs: list[LinkedRef]
) -> list[tuple[str, LineageEntry]]:
    entries: list[LineageEntry] = []
    message_ids: set[str] = set()
    for kind, record_id in [("contract", contract_id), *(("project", p) for p in projects)]:
        for version in uow.views.history(kind, record_id):
            entries.append(
                LineageEntry(
                    at=version.recorded_at,
                    kind="version",
                    id=f"{record_id}@{version.version}",
                    summary=f"{kind} {record_id} version {version.version} stored",
                    source=version.cause,
                )
            )
            if version.cause.startswith(INBOX_CAUSE):
                message_ids.add(version.cause.removeprefix(INBOX_CAUSE))
    for message_id in sorted(message_ids):
        message = uow.inbox.get(message_id)
        if message is not None:
            entries.append(
                LineageEntry(
                    at=message.received_at,
                    kind="inbox_message",
                    id=message.id,
                    summary=f"{message.event_type} received ({message.status.value})",
                    source=message.source,
                )
            )
    for ref in refs:
        entries.append(
            LineageEntry(
                at=ref.linked_at,
                kind="ref_linked",
                id=str(ref.ref),
                summary=f"{ref.record_kind} {ref.record_id} linked to {ref.ref.kind} {ref.ref.id}",
                source=ref.ref.system,
            )
        )
    for item in uow.exceptions.list(contract_id=contract_id, limit=_EVENTS_LIMIT):
        entries.append(
            LineageEntry(
                at=item.created_at,
                kind="exception",
                id=item.id,
                summary=f"{item.code} raised for {item.owner.value} ({item.status.value})",
            )
        )
    for entry in uow.views.events(correlation_id=contract_id, limit=_EVENTS_LIMIT):
        event = entry.event
        entries.append(
            LineageEntry(
                at=event.occurred_at,
                kind="event",
                id=event.id,
                summary=f"{event.type.value} about {event.subject}",
                source="contractsync",
            )
        )
    keyed = [(_key(entry), entry) for entry in entries]
    return sorted(keyed, key=lambda pair: pair[0])


def _key(entry: LineageEntry) -> str:
    # Fixed-width UTC text sorts like the instants it stands for.
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{at}|{_RANK[entry.kind]}|{entry.id}"


def _ref_view(ref: LinkedRef) -> LineageRef:
    return LineageRef(
        record_kind=ref.record_kind,
        record_id=ref.record_id,
        system=ref.ref.system,
        kind=ref.ref.kind,
        id=ref.ref.id,
        linked_at=ref.linked_at,
    )


__all__ = ["INBOX_CAUSE", "lineage_router"]
