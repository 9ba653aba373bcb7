"""The process API v1: every resource router under ``/api/v1``, each with its scopes."""

from __future__ import annotations

from fastapi import APIRouter

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.routes.amendments import amendments_router
from contractsync.entrypoints.api.routes.billing_schedules import billing_schedules_router
from contractsync.entrypoints.api.routes.contract_lifecycle import contract_lifecycle_router
from contractsync.entrypoints.api.routes.contracts import contracts_router
from contractsync.entrypoints.api.routes.customers import customers_router
from contractsync.entrypoints.api.routes.events import events_router
from contractsync.entrypoints.api.routes.exceptions import exceptions_router
from contractsync.entrypoints.api.routes.invoices import invoices_router
from contractsync.entrypoints.api.routes.lineage import lineage_router
from contractsync.entrypoints.api.routes.projects import projects_router
from contractsync.entrypoints.api.routes.rate_cards import rate_cards_router
from contractsync.entrypoints.api.routes.replays import replays_router

API_PREFIX = "/api/v1"


def process_router(container: ApiContainer) -> APIRouter:
    """Every process API resource, mounted under :data:`API_PREFIX`."""
    router = APIRouter(prefix=API_PREFIX)
    for build in (
        customers_router,
        contracts_router,
        contract_lifecycle_router,
        lineage_router,
        amendments_router,
        projects_router,
        rate_cards_router,
        billing_schedules_router,
        invoices_router,
        exceptions_router,
        events_router,
        replays_router,
    ):
        router.include_router(build(container))
    return router


__all__ = ["API_PREFIX", "process_router"]
