"""``GET /events``: business events from the outbox, newest first, by type or subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.domain.events import EventType
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.schemas.activity import EventView
from contractsync.entrypoints.api.schemas.common import Page
from contractsync.entrypoints.api.security import require
from contractsync.ports.storage import OutboxEntry


def event_view(entry: OutboxEntry) -> EventView:
    """The DTO of one outbox entry."""
    event = entry.event
    return EventView(
        seq=entry.seq,
        id=event.id,
        type=event.type.value,
        subject=event.subject,
        correlation_id=event.correlation_id,
        occurred_at=event.occurred_at,
        published_at=entry.published_at,
        data=event.data,
    )


def events_router(container: ApiContainer) -> APIRouter:
    """The router serving the event list."""
    router = APIRouter(tags=["events"], route_class=ProcessRoute)

    @router.get(
        "/events",
        response_model=Page[EventView],
        operation_id="listEvents",
        summary="List business events, newest first",
        responses=documented(paged=True),
        dependencies=[require("events:read")],
    )
    def list_events(
        request: Request,
        response: Response,
        page: Paging,
        type: Annotated[EventType | None, Query(description="Only events of this type.")] = None,
        subject: Annotated[
            str | None,
            Query(
                min_length=1,
                max_length=255,
                pattern=r"^[^\x00-\x1f\x7f]+$",
                description="Only events about this subject (exception:EX-1, contract:C-1 ...).",
            ),
        ] = None,
    ) -> Page[EventView]:
        """Events newest first (by outbox position), a page at a time."""
        before = page.position("events", of=int)
        with container.uow_factory() as uow:
            rows = uow.views.events(
                before_seq=before,
                limit=page.limit + 1,
                event_type=None if type is None else type.value,
                subject=subject,
            )
        items, next_cursor = cut(
            rows,
            page,
            listing="events",
            position_of=lambda entry: entry.seq,
            request=request,
            response=response,
        )
        return Page[EventView](items=[event_view(e) for e in items], next_cursor=next_cursor)

    return router


__all__ = ["event_view", "events_router"]
