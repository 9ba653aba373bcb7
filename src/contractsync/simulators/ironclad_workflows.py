"""Workflow routes of the Ironclad simulator: launch, list (page/pageSize), approvals."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import Request

from contractsync.simulators.ironclad_attributes import schema_of
from contractsync.simulators.ironclad_records import IroncladFault

if TYPE_CHECKING:
    from contractsync.simulators.ironclad import IroncladSimulator

STATUSES = ("active", "paused", "completed", "cancelled")


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A query integer in ``low..high``; 400 ``INVALID_PARAM`` naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise IroncladFault(
            400, "INVALID_PARAM", f"{name} must be an integer from {low} to {high}", name
        )
    return int(raw)


async def launch(sim: IroncladSimulator, request: Request, user: str) -> dict[str, Any]:
    """``POST /workflows``: validate template and attributes, launch into Review, emit."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise IroncladFault(400, "INVALID_PARAM", "The body is not JSON", "body") from None
    if not isinstance(body, dict) or not body.get("template"):
        raise IroncladFault(400, "MISSING_PARAM", "template is required", "template")
    if body["template"] != sim.company.template_id:
        raise IroncladFault(400, "INVALID_PARAM", "template not found", "template")
    attributes = body.get("attributes")
    if not isinstance(attributes, dict) or not attributes.get("counterpartyName"):
        raise IroncladFault(
            400, "MISSING_PARAM", "counterpartyName is required", "attributes.counterpartyName"
        )
    title = str(
        attributes.get("contractTitle") or f"Contract with {attributes['counterpartyName']}"
    )
    workflow = sim.company.launch(
        title=title, attributes=attributes, schema=schema_of(attributes), creator=user
    )
    sim.emit("workflow_launched", workflow)
    return workflow.to_json()


def listing(sim: IroncladSimulator, request: Request) -> dict[str, Any]:
    """``GET /workflows``: ``{page, pageSize, count, list}``, ``status`` defaults to active."""
    page = int_param(request, "page", 0, 0, 1_000_000)
    size = int_param(request, "pageSize", 20, 1, 100)
    statuses = [s for s in request.query_params.get("status", "active").split(",") if s]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise IroncladFault(400, "INVALID_PARAM", f"unknown status {unknown[0]}", "status")
    found = sim.company.listing(statuses, request.query_params.get("template"))
    chunk = found[page * size : (page + 1) * size]
    return {
        "page": page,
        "pageSize": size,
        "count": len(found),
        "list": [w.to_json() for w in chunk],
    }


def approvals(sim: IroncladSimulator, key: str) -> dict[str, Any]:
    """``GET /workflows/{id}/approvals``: approval groups in order, and the roles."""
    workflow = sim.company.workflow(key)
    groups, earlier_done = [], True
    for order, approval in enumerate(workflow.approvals, start=1):
        state = "approved" if approval.status == "approved" else "pending"
        if state == "pending" and earlier_done and workflow.step == "Review":
            state = "active"
        earlier_done = earlier_done and approval.status == "approved"
        reviewer = {
            "role": approval.role,
            "displayName": approval.display_name,
            "reviewerType": "role",
            "status": approval.status,
        }
        groups.append({"reviewers": [reviewer], "status": state, "order": order})
    roles = [
        {"id": a.role, "displayName": a.display_name, "assignees": []} for a in workflow.approvals
    ]
    return {
        "workflowId": workflow.id,
        "title": workflow.title,
        "approvalGroups": groups,
        "roles": roles,
    }


async def patch_approval(
    sim: IroncladSimulator, request: Request, key: str, role: str, user: str
) -> bool:
    """``PATCH /workflows/{id}/approvals/{roleId}``: ``{"status": "approved"}``, answers true."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    status = body.get("status") if isinstance(body, dict) else None
    if status not in ("approved", "pending"):
        raise IroncladFault(400, "INVALID_PARAM", "status must be approved or pending", "status")
    sim.approve(key, role, status=str(status), user=user)
    return True


__all__ = ["STATUSES", "approvals", "int_param", "launch", "listing", "patch_approval"]
