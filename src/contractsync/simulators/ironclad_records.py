"""Records of the simulated Ironclad company: workflows, approvals, webhooks, errors, rate buckets."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class IroncladFault(Exception):  # noqa: N818 - a refusal the routes answer, not a crash
    """A refusal answered with Ironclad's error body ``{code, message, param}``.

    Args:
        status: The HTTP status.
        code: ``MISSING_PARAM``, ``INVALID_PARAM``, ``INVALID_STATE``, ``NOT_FOUND`` ...
        message: The human text.
        param: The parameter at fault, if any.
    """

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, "param": param}


def iso(now: float) -> str:
    """An Ironclad timestamp: ISO 8601 UTC with milliseconds and ``Z``."""
    stamp = dt.datetime.fromtimestamp(now, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class Approval:
    """One approver role of a workflow and its status (``pending`` or ``approved``)."""

    role: str
    display_name: str
    status: str = "pending"
    approved_by: str | None = None


@dataclass(slots=True)
class Workflow:
    """One workflow, serialised as Ironclad's ``WorkflowResponseModel``."""

    id: str
    ironclad_id: str
    title: str
    template: str
    attributes: dict[str, Any]
    schema: dict[str, Any]
    creator: str
    created: float
    last_updated: float
    approvals: list[Approval]
    step: str = "Review"
    status: str = "active"

    @property
    def is_approved(self) -> bool:
        """True when every approver role has approved."""
        return all(a.status == "approved" for a in self.approvals)

    def approval_state(self) -> dict[str, Any]:
        """The ``approvals`` member: ``WorkflowStateModel``."""
        if self.status == "cancelled":
            return {"state": "not_applicable", "message": "This workflow has been cancelled"}
        if self.is_approved:
            return {"state": "completed"}
        if self.step == "Create":
            return {"state": "not_started"}
        url = f"/public/api/v1/workflows/{self.id}/approvals"
        return {"state": "in_progress", "url": url}

    def to_json(self) -> dict[str, Any]:
        """The workflow as ``GET /workflows/{id}`` answers it."""
        signed = self.status == "completed"
        return {
            "id": self.id,
            "ironcladId": self.ironclad_id,
            "title": self.title,
            "template": self.template,
            "step": self.step,
            "schema": copy.deepcopy(self.schema),
            "attributes": copy.deepcopy(self.attributes),
            "isCancelled": self.status == "cancelled",
            "isComplete": signed,
            "status": self.status,
            "creator": {"displayName": self.creator.split("@")[0], "email": self.creator},
            "created": iso(self.created),
            "lastUpdated": iso(self.last_updated),
            "roles": [
                {"id": a.role, "displayName": a.display_name, "assignees": []}
                for a in self.approvals
            ],
            "approvals": self.approval_state(),
            "signatures": {"state": "completed" if signed else "not_started"},
            "recordIds": [],
            "isRevertibleToReview": self.step == "Sign",
        }


@dataclass(slots=True)
class WebhookRegistration:
    """A ``POST /webhooks`` registration and the outbound subscription delivering it."""

    id: str
    events: list[str]
    target_url: str
    status: str
    subscription_id: str
    updated_at: float
    updated_by: str


class RateBuckets:
    """Requests per minute by bucket, in fixed one-minute windows of ``clock``.

    Args:
        limits: Bucket name -> requests allowed per minute; a bucket not listed is unlimited.
        clock: Unix seconds (tests drive it).
    """

    def __init__(self, limits: Mapping[str, int], clock: Callable[[], float]) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._window: dict[str, tuple[int, int]] = {}

    def take(self, bucket: str | None) -> float | None:
        """Count one request; None when allowed, else the seconds until the window resets."""
        if bucket is None or bucket not in self.limits:
            return None
        now = self._clock()
        window = int(now // 60)
        current, used = self._window.get(bucket, (window, 0))
        if current != window:
            used = 0
        if used >= self.limits[bucket]:
            self._window[bucket] = (window, used)
            return (window + 1) * 60 - now
        self._window[bucket] = (window, used + 1)
        return None

    def reset(self) -> None:
        """Forget every window."""
        self._window.clear()


__all__ = [
    "Approval",
    "IroncladFault",
    "RateBuckets",
    "WebhookRegistration",
    "Workflow",
    "iso",
]
