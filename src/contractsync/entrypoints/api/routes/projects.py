"""``GET /projects``: delivery projects from the canonical records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.schemas.common import Page
from contractsync.entrypoints.api.schemas.parties import ProjectView
from contractsync.entrypoints.api.security import require


def projects_router(container: ApiContainer) -> APIRouter:
    """The router serving the project list."""
    router = APIRouter(tags=["projects"], route_class=ProcessRoute)

    @router.get(
        "/projects",
        response_model=Page[ProjectView],
        operation_id="listProjects",
        summary="List projects",
        responses=documented(paged=True),
        dependencies=[require("contracts:read")],
    )
    def list_projects(
        request: Request,
        response: Response,
        page: Paging,
        contract_id: Annotated[
            str | None,
            Query(
                pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
                description="Only the projects of this contract.",
            ),
        ] = None,
    ) -> Page[ProjectView]:
        """Projects by id, a page at a time."""
        after = page.position("projects")
        where = None if contract_id is None else ("contract_id", contract_id)
        with container.uow_factory() as uow:
            rows = uow.views.records("project", after=after, limit=page.limit + 1, where=where)
        items, next_cursor = cut(
            rows,
            page,
            listing="projects",
            position_of=lambda row: row.id,
            request=request,
            response=response,
        )
        views = [
            ProjectView.model_validate(
                {**row.document, "version": row.version, "updated_at": row.updated_at}
            )
            for row in items
        ]
        return Page[ProjectView](items=views, next_cursor=next_cursor)

    return router


__all__ = ["projects_router"]
