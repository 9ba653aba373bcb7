"""``GET /billing-schedules/{contract_id}``: the stored schedule, else one generated now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from contractsync.bootstrap import ApiContainer
from contractsync.domain.contract import Contract
from contractsync.domain.customer import LegalEntity
from contractsync.domain.schedules import BillingSchedule
from contractsync.entrypoints.api.problems import ProblemError, not_found
from contractsync.entrypoints.api.process_route import ProcessRoute, documented, refusal
from contractsync.entrypoints.api.routes.customers import RecordId
from contractsync.entrypoints.api.schemas.billing import BillingScheduleResponse
from contractsync.entrypoints.api.security import Principal, require
from contractsync.errors import DataError, DomainError
from contractsync.services.billing import build_billing_schedule


def billing_schedules_router(container: ApiContainer) -> APIRouter:
    """The router serving billing schedules."""
    router = APIRouter(tags=["billing"], route_class=ProcessRoute)

    @router.get(
        "/billing-schedules/{contract_id}",
        response_model=BillingScheduleResponse,
        operation_id="getBillingSchedule",
        summary="Read a contract's billing schedule",
        responses=documented(404),
    )
    def get_billing_schedule(
        contract_id: RecordId,
        principal: Annotated[Principal, require("billing:read")],
    ) -> BillingScheduleResponse:
        """The contract's billing schedule, stored or generated; ``source`` says which.

        The schedule stored for the contract (record kind ``billing_schedule``); if none is
        stored yet, the one generated now from the current version and its legal entity
        (record kind ``legal_entity``).
        """
        with container.uow_factory() as uow:
            stored = uow.records.get("billing_schedule", contract_id)
            contract = None if stored else uow.records.get("contract", contract_id)
            entity = None
            if contract is not None:
                entity = uow.records.get("legal_entity", str(contract.get("legal_entity_code")))
        if stored is not None:
            return _response(BillingSchedule.model_validate(stored), "stored")
        if contract is None:
            raise not_found("contract", contract_id)
        if entity is None:
            raise ProblemError(
                404,
                "billing_schedule.not_found",
                f"No schedule is stored for contract {contract_id} and its legal entity is "
                "unknown to the hub, so none can be generated.",
                remediation="Wait for the contract flow to store it, or add the legal entity.",
            )
        try:
            schedule = build_billing_schedule(
                Contract.model_validate(contract), legal_entity=LegalEntity.model_validate(entity)
            )
        except (DomainError, DataError) as error:
            raise refusal(error, principal) from error
        return _response(schedule, "generated")

    return router


def _response(schedule: BillingSchedule, source: str) -> BillingScheduleResponse:
    fields: dict[str, Any] = schedule.model_dump(mode="json")
    fields |= {"source": source, "total": schedule.total.model_dump(mode="json")}
    return BillingScheduleResponse.model_validate(fields)


__all__ = ["billing_schedules_router"]
