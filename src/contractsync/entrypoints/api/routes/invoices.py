"""``GET /invoices``: the invoices the hub knows, from their ERP refs and invoice events.

The hub does not own invoices (the ERP does): it knows an invoice by the external ref it
linked to the canonical invoice id, by the record the billing flow stored (record kind
``invoice``: milestone, amount, dates) and by the events it published about it (subject
``invoice:<id>``). Nothing here is read from the ERP itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.schemas.billing import InvoiceEventView, InvoiceView
from contractsync.entrypoints.api.schemas.common import Page, RefView
from contractsync.entrypoints.api.security import require

INVOICE_KIND = "invoice"
"""Canonical record kind of invoices in external refs."""

_EVENTS_PER_INVOICE = 20


def invoices_router(container: ApiContainer) -> APIRouter:
    """The router serving the invoice list."""
    router = APIRouter(tags=["billing"], route_class=ProcessRoute)

    @router.get(
        "/invoices",
        response_model=Page[InvoiceView],
        operation_id="listInvoices",
        summary="List the invoices the hub knows",
        responses=documented(paged=True),
        dependencies=[require("billing:read")],
    )
    def list_invoices(request: Request, response: Response, page: Paging) -> Page[InvoiceView]:
        """Invoices by hub id: where each lives and the events about it (amounts masked)."""
        after = page.position("invoices")
        with container.uow_factory() as uow:
            ids = uow.views.linked_ids(INVOICE_KIND, after=after, limit=page.limit + 1)
            items, next_cursor = cut(
                ids,
                page,
                listing="invoices",
                position_of=lambda invoice_id: invoice_id,
                request=request,
                response=response,
            )
            views = []
            for invoice_id in items:
                refs = uow.views.refs_of(INVOICE_KIND, invoice_id)
                # The invoice as the billing flow recorded it, when it did (amount, dates).
                recorded = uow.records.get(INVOICE_KIND, invoice_id) or {}
                events = uow.views.events(
                    subject=f"{INVOICE_KIND}:{invoice_id}", limit=_EVENTS_PER_INVOICE
                )
                views.append(
                    InvoiceView(
                        id=invoice_id,
                        contract_id=recorded.get("contract_id")
                        or (events[-1].event.correlation_id if events else None),
                        milestone_id=recorded.get("milestone_id"),
                        issued_on=recorded.get("issued_on"),
                        due_on=recorded.get("due_on"),
                        amount=recorded.get("amount"),
                        refs=[RefView.model_validate(r.ref.model_dump()) for r in refs],
                        linked_at=min(r.linked_at for r in refs),
                        events=[
                            InvoiceEventView(
                                id=e.event.id,
                                type=e.event.type.value,
                                occurred_at=e.event.occurred_at,
                                data=e.event.data,
                            )
                            for e in reversed(events)
                        ],
                    )
                )
        return Page[InvoiceView](items=views, next_cursor=next_cursor)

    return router


__all__ = ["INVOICE_KIND", "invoices_router"]
