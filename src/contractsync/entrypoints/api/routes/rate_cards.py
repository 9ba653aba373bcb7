"""``GET /rate-cards``: every rate card of every contract's current version (rates masked)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.schemas.common import Page
from contractsync.entrypoints.api.schemas.contracts import RateCardEntry, RateCardView
from contractsync.entrypoints.api.security import require
from contractsync.ports.views import StoredRecord

_BATCH = 100


def rate_cards_router(container: ApiContainer) -> APIRouter:
    """The router serving the rate card list."""
    router = APIRouter(tags=["pricing"], route_class=ProcessRoute)

    @router.get(
        "/rate-cards",
        response_model=Page[RateCardEntry],
        operation_id="listRateCards",
        summary="List rate cards (from contracts)",
        responses=documented(paged=True),
        dependencies=[require("contracts:read")],
    )
    def list_rate_cards(request: Request, response: Response, page: Paging) -> Page[RateCardEntry]:
        """Rate cards by contract id then card id; hourly rates need pricing:read."""
        # The position is "<contract id>/<card id>": ids never hold a slash.
        after = page.position("rate-cards")
        contract_after, _, card_after = (after or "").partition("/")
        entries: list[tuple[str, RateCardEntry]] = []
        with container.uow_factory() as uow:
            first = uow.views.records("contract", where=("id", contract_after), limit=1)
            batch: list[StoredRecord] = list(first) if after else []
            scan_from = contract_after or None
            while True:
                for row in batch:
                    for card in sorted(row.document.get("rate_cards", []), key=lambda c: c["id"]):
                        if row.id == contract_after and card["id"] <= card_after:
                            continue
                        entry = RateCardEntry(
                            contract_id=row.id,
                            contract_version=row.version,
                            rate_card=RateCardView.model_validate(card),
                        )
                        entries.append((f"{row.id}/{card['id']}", entry))
                if len(entries) > page.limit:
                    break
                batch = list(uow.views.records("contract", after=scan_from, limit=_BATCH))
                if not batch:
                    break
                scan_from = batch[-1].id
        items, next_cursor = cut(
            entries[: page.limit + 1],
            page,
            listing="rate-cards",
            position_of=lambda pair: pair[0],
            request=request,
            response=response,
        )
        return Page[RateCardEntry](items=[entry for _, entry in items], next_cursor=next_cursor)

    return router


__all__ = ["rate_cards_router"]
