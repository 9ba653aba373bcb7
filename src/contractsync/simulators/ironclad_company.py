"""The simulated Ironclad company: workflows, approvals, webhook registrations, tokens, rate buckets."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contractsync.simulators.ironclad_records import (
    Approval,
    IroncladFault,
    RateBuckets,
    WebhookRegistration,
    Workflow,
    iso,
)

DEFAULT_RATE_LIMITS: Mapping[str, int] = {"pub:workflows:read": 400, "pub:workflows:write": 40}
"""Requests per minute per bucket (developer.ironcladapp.com/reference/clm-api-rate-limits)."""
DEFAULT_APPROVERS: tuple[tuple[str, str], ...] = (("legal", "Legal"), ("finance", "Finance"))
"""The template's approver roles, approved in this order: (role id, display name)."""


@dataclass
class IroncladCompany:
    """One company's data. Thread-safe: callers hold ``lock`` around reads and writes.

    Attributes:
        clients: OAuth client id -> secret (client-credentials grant).
        api_keys: Legacy bearer API keys.
        users: Emails that may be named in ``x-as-user-email``.
        token_lifetime: Seconds an access token lives.
        clock: Unix seconds.
    """

    clients: dict[str, str]
    api_keys: set[str]
    users: set[str]
    rate_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    approvers: Sequence[tuple[str, str]] = DEFAULT_APPROVERS
    token_lifetime: float = 3600.0
    clock: Callable[[], float] = time.time
    company_id: str = "605b9829cdd37d296123f4b4"
    template_id: str = "6063ac9e01a5542dafa3722b"
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.buckets = RateBuckets(self.rate_limits, self.clock)
        self.reset()

    def reset(self) -> None:
        """No workflows, webhooks or tokens; fresh rate windows."""
        with self.lock:
            self.workflows: dict[str, Workflow] = {}
            self.webhooks: dict[str, WebhookRegistration] = {}
            self.tokens: dict[str, float] = {}
            self._numbers = itertools.count(1)
            self.buckets.reset()

    @staticmethod
    def new_id() -> str:
        """A 24-hex-digit id, as Ironclad's (MongoDB object) ids look."""
        return secrets.token_hex(12)

    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        """A bearer token for valid client credentials, else None."""
        with self.lock:
            expected = self.clients.get(client_id)
            if expected is None or not secrets.compare_digest(expected, client_secret):
                return None
            token = secrets.token_urlsafe(32)
            self.tokens[token] = self.clock() + self.token_lifetime
            return token

    def token_kind(self, token: str) -> str | None:
        """``oauth`` for a live client-credentials token, ``legacy`` for an API key, else None."""
        with self.lock:
            if token in self.api_keys:
                return "legacy"
            expires = self.tokens.get(token)
            return "oauth" if expires is not None and expires > self.clock() else None

    def expire_tokens(self) -> int:
        """Expire every OAuth token; how many there were."""
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    def launch(
        self,
        *,
        title: str,
        attributes: dict[str, Any],
        schema: dict[str, Any],
        creator: str,
        workflow_id: str | None = None,
    ) -> Workflow:
        """Launch a workflow straight into Review with every approver pending."""
        with self.lock:
            now = self.clock()
            wid = workflow_id or self.new_id()
            if wid in self.workflows:
                raise IroncladFault(400, "INVALID_PARAM", f"workflow {wid} exists", "id")
            workflow = Workflow(
                id=wid,
                ironclad_id=f"IC-{next(self._numbers)}",
                title=title,
                template=self.template_id,
                attributes=attributes,
                schema=schema,
                creator=creator,
                created=now,
                last_updated=now,
                approvals=[Approval(role, name) for role, name in self.approvers],
            )
            self.workflows[wid] = workflow
            return workflow

    def workflow(self, key: str) -> Workflow:
        """The workflow with id or Ironclad id ``key``.

        Raises:
            IroncladFault: 404 ``NOT_FOUND``.
        """
        with self.lock:
            found = self.workflows.get(key) or next(
                (w for w in self.workflows.values() if w.ironclad_id == key), None
            )
            if found is None:
                raise IroncladFault(404, "NOT_FOUND", f"Workflow {key} not found", "id")
            return found

    def approve(self, key: str, role: str, *, status: str, user: str) -> Workflow:
        """Set one approver's status; approvals run in order and only during Review.

        Raises:
            IroncladFault: 400 ``INVALID_PARAM`` (no such role) or ``INVALID_STATE`` (not in
                Review, or an earlier approver is still pending).
        """
        with self.lock:
            workflow = self.workflow(key)
            index = next((i for i, a in enumerate(workflow.approvals) if a.role == role), None)
            if index is None:
                raise IroncladFault(
                    400, "INVALID_PARAM", "This role does not exist in this workflow", "approval"
                )
            if workflow.step != "Review" or workflow.status != "active":
                raise IroncladFault(
                    400, "INVALID_STATE", "Approvals can only change in the Review step", "approval"
                )
            if any(a.status != "approved" for a in workflow.approvals[:index]):
                raise IroncladFault(
                    400,
                    "INVALID_STATE",
                    "This approval cannot be approved out of order",
                    "approval",
                )
            approval = workflow.approvals[index]
            approval.status = status
            approval.approved_by = user if status == "approved" else None
            if workflow.is_approved:
                workflow.step = "Sign"
            workflow.last_updated = self.clock()
            return workflow

    def complete(self, key: str) -> Workflow:
        """Sign and archive an approved workflow.

        Raises:
            IroncladFault: 400 ``INVALID_STATE`` when approvals are still pending.
        """
        with self.lock:
            workflow = self.workflow(key)
            if not workflow.is_approved or workflow.status != "active":
                raise IroncladFault(400, "INVALID_STATE", "The workflow is not ready to sign", "id")
            workflow.step, workflow.status = "Archive", "completed"
            workflow.last_updated = self.clock()
            return workflow

    def replace_attributes(
        self, key: str, attributes: dict[str, Any], schema: dict[str, Any], *, reopen: bool
    ) -> Workflow:
        """Give a workflow new attributes; ``reopen`` sends it back to Review for approval."""
        with self.lock:
            workflow = self.workflow(key)
            workflow.attributes, workflow.schema = attributes, schema
            if reopen:
                workflow.step, workflow.status = "Review", "active"
                for approval in workflow.approvals:
                    approval.status, approval.approved_by = "pending", None
            workflow.last_updated = self.clock()
            return workflow

    def listing(self, statuses: Sequence[str], template: str | None) -> list[Workflow]:
        """Workflows in ``statuses`` (and of ``template``), oldest launch first."""
        with self.lock:
            return [
                w
                for w in sorted(self.workflows.values(), key=lambda w: int(w.ironclad_id[3:]))
                if w.status in statuses and (template is None or w.template == template)
            ]


__all__ = [
    "DEFAULT_APPROVERS",
    "DEFAULT_RATE_LIMITS",
    "Approval",
    "IroncladCompany",
    "IroncladFault",
    "RateBuckets",
    "WebhookRegistration",
    "Workflow",
    "iso",
]
