"""``POST /contracts/{id}/amendments:plan``: plan an amendment and decide it, writing nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import ValidationError

from contractsync.bootstrap import ApiContainer
from contractsync.domain.amending import apply_amendment
from contractsync.domain.contract import Contract
from contractsync.domain.plan import AmendmentPlan
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.entrypoints.api.idempotency import idempotency_key_header
from contractsync.entrypoints.api.problems import not_found
from contractsync.entrypoints.api.process_route import ProcessRoute, documented, refusal
from contractsync.entrypoints.api.routes.customers import RecordId
from contractsync.entrypoints.api.schemas.plans import PlanRequest, PlanResponse
from contractsync.entrypoints.api.security import Principal, require
from contractsync.errors import DomainError
from contractsync.policies import load_default_policy
from contractsync.services.amendment_flow import ERP_SNAPSHOT, plan_and_decide

ERP_SNAPSHOT_KIND = ERP_SNAPSHOT
"""Record kind of the last ERP state the amendment flow read for a contract (id = its id)."""


def amendments_router(container: ApiContainer) -> APIRouter:
    """The router serving amendment dry runs."""
    router = APIRouter(tags=["contracts"], route_class=ProcessRoute)

    @router.post(
        "/contracts/{contract_id}/amendments:plan",
        response_model=PlanResponse,
        operation_id="planContractAmendment",
        summary="Plan an amendment (dry run)",
        responses=documented(400, 404, 409),
        dependencies=[Depends(idempotency_key_header)],
    )
    def plan(
        contract_id: RecordId,
        body: PlanRequest,
        principal: Annotated[Principal, require("contracts:read")],
    ) -> PlanResponse:
        """Plan the amendment against the contract's current version and decide it.

        The current version is diffed against the amendment (or amended version), read against the last ERP state the hub stored (else the current version is assumed
        to be in the ERP), and decide the plan by the amendment policy.

        Nothing is written: no record, event, audit entry or exception item. The decision
        names the rule that made it.
        """
        with container.uow_factory() as uow:
            document = uow.records.get("contract", contract_id)
            snapshot_document = uow.records.get(ERP_SNAPSHOT_KIND, contract_id)
        if document is None:
            raise not_found("contract", contract_id)
        prior = Contract.model_validate(document)
        snapshot = (
            FinancialSnapshot(contract=prior)
            if snapshot_document is None
            else FinancialSnapshot.model_validate(snapshot_document)
        )
        policy = container.amendment_policy or load_default_policy()
        try:
            if body.amendment is not None:
                amended = apply_amendment(prior, body.amendment)
            else:
                assert body.contract is not None  # the request validator demands one
                amended = body.contract
            # The very planning the amendment flow runs, so the dry run predicts it.
            decided = plan_and_decide(prior, amended, erp=snapshot, policy=policy)
        except DomainError as error:
            raise refusal(error, principal) from error
        except ValidationError as error:
            # A change that leaves an invalid contract (say, a line outside the term).
            raise refusal(
                DomainError(
                    "the amendment leaves the contract invalid: "
                    + "; ".join(str(e["msg"]) for e in error.errors()),
                    code="amendment.does_not_apply",
                    remediation="Correct the changes so the amended contract is valid.",
                ),
                principal,
            ) from error
        return PlanResponse.model_validate(
            {
                **_plan_fields(decided.plan),
                "erp_state": "assumed_current" if snapshot_document is None else "stored_snapshot",
                "decision": decided.decision.model_dump(mode="json"),
            }
        )

    return router


def _plan_fields(plan: AmendmentPlan) -> dict[str, Any]:
    dumped = plan.model_dump(mode="json")
    operations = [
        {**op, "kind": op["change"]["kind"], "change": op["change"]} for op in dumped["operations"]
    ]
    return {
        "contract_id": plan.contract_id,
        "from_version": plan.from_version,
        "to_version": plan.to_version,
        "operations": operations,
        "conflicts": dumped["conflicts"],
        "impact": dumped["impact"],
    }


__all__ = ["ERP_SNAPSHOT_KIND", "amendments_router"]
