"""Operator scenarios and synthetic failures of the Ironclad simulator, in Ironclad's shapes.

Scenarios (``POST /_sim/scenarios/{name}``):

- ``launch_workflow``: launch a workflow from a canonical contract document
  ``{"customer": {...}, "contract": {...}}`` (amounts as strings); the contract's Ironclad
  ref, if any, becomes the workflow id; emits ``workflow_launched``.
- ``approve_workflow``: approve the pending roles in order (all, or those named); each emits
  ``workflow_approval_status_changed`` with ``status: approved``.
- ``complete_workflow``: sign and archive an approved workflow; emits ``workflow_completed``.
- ``cancel_workflow``: the deal is off; the workflow is cancelled, ``workflow_cancelled``.
- ``amend_workflow``: a new contract version in the same workflow: new attributes, approvals
  back to pending, ``workflow_updated``, then (unless ``approve`` is false) every approval.
- ``edit_workflow``: change or remove attributes by hand; emits ``workflow_attribute_updated``.
- ``set_rate_limits``: requests per minute by bucket; ``expire_tokens``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from pydantic import BaseModel, Field, ValidationError

from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.simulators.app import Scenario
from contractsync.simulators.ironclad_attributes import attributes_of, schema_of
from contractsync.simulators.ironclad_company import IroncladFault

if TYPE_CHECKING:
    from contractsync.simulators.ironclad import IroncladSimulator

LIMITED = {"code": "RATE_LIMITED", "message": "Too Many Requests", "param": None}
"""The 429 body: Ironclad documents the status, not the body [unconfirmed]."""


class IroncladFaults:
    """Ironclad-shaped 500, 429 (per the bucket) and 400 bodies.

    Args:
        send_retry_after: Whether a 429 carries ``Retry-After`` (unconfirmed for Ironclad).
    """

    def __init__(self, send_retry_after: bool = True) -> None:
        self.send_retry_after = send_retry_after

    def server_error(self) -> tuple[int, dict[str, str], Any]:
        """500 with the ``{code, message, param}`` shape."""
        return (
            500,
            {},
            {"code": "INTERNAL_ERROR", "message": "Internal Server Error", "param": None},
        )

    def rate_limited(self, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
        """429 Too Many Requests, with ``Retry-After`` when configured and known."""
        headers = {}
        if self.send_retry_after and retry_after is not None:
            headers["Retry-After"] = str(max(1, round(retry_after)))
        return 429, headers, dict(LIMITED)

    def validation_error(self) -> tuple[int, dict[str, str], Any]:
        """400 ``INVALID_PARAM`` as a refused launch answers."""
        body = {
            "code": "INVALID_PARAM",
            "message": "Simulated: invalid attribute",
            "param": "attributes",
        }
        return 400, {}, body


class LaunchBody(BaseModel):
    """A canonical contract document to launch as a workflow."""

    customer: dict[str, Any]
    contract: dict[str, Any]
    workflow_id: str | None = Field(default=None, description="Defaults to the ironclad ref.")
    creator: str = "integration@contractsync.example"


class ApproveBody(BaseModel):
    """Which workflow to approve, and optionally which roles (default: every pending one)."""

    workflow_id: str
    roles: list[str] | None = None
    user: str = "legal@contractsync.example"


class WorkflowBody(BaseModel):
    """One workflow by id or Ironclad id."""

    workflow_id: str


class AmendBody(BaseModel):
    """A new version of the contract held by a workflow."""

    workflow_id: str
    contract: dict[str, Any]
    customer: dict[str, Any]
    approve: bool = True


class EditBody(BaseModel):
    """Attributes changed or removed by hand in the Ironclad UI."""

    workflow_id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class RateLimitsBody(BaseModel):
    """Requests per minute by bucket (a bucket absent from the map is unlimited)."""

    limits: dict[str, int]


class EmptyBody(BaseModel):
    """No parameters."""


def _canonical(customer: dict[str, Any], contract: dict[str, Any]) -> tuple[Contract, Customer]:
    try:
        return Contract.model_validate(contract), Customer.model_validate(customer)
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_context=False)) from None


def _guarded(sim: IroncladSimulator, run: Any) -> Any:
    def guarded(body: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = run(sim, body)
        except IroncladFault as fault:
            raise HTTPException(fault.status, fault.body) from None
        return result

    return guarded


def _launch(sim: IroncladSimulator, body: LaunchBody) -> dict[str, Any]:
    contract, customer = _canonical(body.customer, body.contract)
    ref = next((r.id for r in contract.refs if r.system == "ironclad"), None)
    attributes = attributes_of(contract, customer)
    workflow = sim.company.launch(
        title=contract.title,
        attributes=attributes,
        schema=schema_of(attributes),
        creator=body.creator,
        workflow_id=body.workflow_id or ref,
    )
    sim.emit("workflow_launched", workflow)
    return {"id": workflow.id, "ironcladId": workflow.ironclad_id}


def _approve(sim: IroncladSimulator, body: ApproveBody) -> dict[str, Any]:
    workflow = sim.company.workflow(body.workflow_id)
    wanted = body.roles or [a.role for a in workflow.approvals if a.status != "approved"]
    for role in wanted:
        workflow = sim.approve(workflow.id, role, status="approved", user=body.user)
    return {"id": workflow.id, "step": workflow.step, "approved": workflow.is_approved}


def _complete(sim: IroncladSimulator, body: WorkflowBody) -> dict[str, Any]:
    workflow = sim.company.complete(body.workflow_id)
    sim.emit("workflow_completed", workflow)
    return {"id": workflow.id, "status": workflow.status}


def _cancel(sim: IroncladSimulator, body: WorkflowBody) -> dict[str, Any]:
    with sim.company.lock:
        workflow = sim.company.workflow(body.workflow_id)
        workflow.status = "cancelled"
    sim.emit("workflow_cancelled", workflow)
    return {"id": workflow.id, "status": workflow.status}


def _amend(sim: IroncladSimulator, body: AmendBody) -> dict[str, Any]:
    contract, customer = _canonical(body.customer, body.contract)
    attributes = attributes_of(contract, customer)
    workflow = sim.company.replace_attributes(
        body.workflow_id, attributes, schema_of(attributes), reopen=True
    )
    workflow.title = contract.title
    sim.emit("workflow_updated", workflow)
    if body.approve:
        _approve(sim, ApproveBody(workflow_id=workflow.id))
    return {"id": workflow.id, "version": contract.version, "step": workflow.step}


def _edit(sim: IroncladSimulator, body: EditBody) -> dict[str, Any]:
    with sim.company.lock:
        workflow = sim.company.workflow(body.workflow_id)
        attributes = {k: v for k, v in workflow.attributes.items() if k not in body.remove}
        attributes.update(body.attributes)
        sim.company.replace_attributes(workflow.id, attributes, schema_of(attributes), reopen=False)
    sim.emit("workflow_attribute_updated", workflow)
    return {"id": workflow.id, "attributes": sorted(attributes)}


def _limits(sim: IroncladSimulator, body: RateLimitsBody) -> dict[str, Any]:
    with sim.company.lock:
        sim.company.buckets.limits = dict(body.limits)
        sim.company.buckets.reset()
        return {"limits": dict(body.limits)}


def ironclad_scenarios(sim: IroncladSimulator) -> tuple[Scenario, ...]:
    """The operator drivers of one simulator (see the module docstring)."""
    return (
        Scenario(
            "launch_workflow",
            "Launch a workflow from a canonical contract.",
            LaunchBody,
            _guarded(sim, _launch),
        ),
        Scenario(
            "approve_workflow",
            "Approve pending roles in order (emits webhooks).",
            ApproveBody,
            _guarded(sim, _approve),
        ),
        Scenario(
            "complete_workflow",
            "Sign and archive an approved workflow.",
            WorkflowBody,
            _guarded(sim, _complete),
        ),
        Scenario(
            "cancel_workflow",
            "Cancel a workflow (the deal is off; emits workflow_cancelled).",
            WorkflowBody,
            _guarded(sim, _cancel),
        ),
        Scenario(
            "amend_workflow",
            "A new contract version in the workflow, re-approved.",
            AmendBody,
            _guarded(sim, _amend),
        ),
        Scenario(
            "edit_workflow", "Change or remove attributes by hand.", EditBody, _guarded(sim, _edit)
        ),
        Scenario(
            "set_rate_limits",
            "Requests per minute by bucket.",
            RateLimitsBody,
            _guarded(sim, _limits),
        ),
        Scenario(
            "expire_tokens",
            "Expire every OAuth token.",
            EmptyBody,
            lambda _: {"expired": sim.company.expire_tokens()},
        ),
    )


__all__ = [
    "AmendBody",
    "ApproveBody",
    "EditBody",
    "EmptyBody",
    "IroncladFaults",
    "LaunchBody",
    "RateLimitsBody",
    "WorkflowBody",
    "ironclad_scenarios",
]
