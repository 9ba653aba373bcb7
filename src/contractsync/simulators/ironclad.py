"""The Ironclad simulator: OAuth2 client credentials, workflows, approvals, RSA-signed thin webhooks.

Wire behaviour (``reference/vendors.md`` §2), under ``/public/api/v1``:

- ``POST /oauth/token`` (``grant_type=client_credentials``) answers ``access_token``; a legacy
  bearer API key also works. With a client-credentials token every call must name the acting
  user in ``x-as-user-email`` (or ``x-as-user-id``): 400 ``MISSING_PARAM`` otherwise.
- ``POST /workflows`` (launch), ``GET /workflows`` (``page``/``pageSize``, ``status`` filter,
  ``{page, pageSize, count, list}``), ``GET /workflows/{id}``, ``GET /workflows/{id}/approvals``,
  ``PATCH /workflows/{id}/approvals/{roleId}``; ``POST|GET /webhooks``,
  ``GET|PATCH|DELETE /webhooks/{id}``, ``GET /webhooks/verification-key`` (PEM text).
- Errors are ``{code, message, param}``; each rate bucket (``pub:workflows:read`` 400/min,
  ``pub:workflows:write`` 40/min, configurable) answers 429 when spent, independently.
- Thin webhooks ``{companyID, payload: {event, workflowID, ...}, timestamp, webhookID}`` as
  compact JSON, signed with RSA over event id + body + nonce, retried 10 times with
  exponential backoff over about 13.6 hours; a 410 disables the webhook.

Unconfirmed and configurable: the 429 body and its ``Retry-After`` (``send_retry_after``), the
5xx body, ``signAlgorithm`` (``sign_algorithm``), the retry spacing (``webhook_retry_delays``).
Operator scenarios: see ``ironclad_scenarios.py``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request, Response

from contractsync.adapters.signatures.ironclad import sign
from contractsync.simulators import ironclad_workflows as workflows
from contractsync.simulators.app import Scenario, Simulator
from contractsync.simulators.faults import FaultResponses
from contractsync.simulators.ironclad_company import (
    DEFAULT_APPROVERS,
    DEFAULT_RATE_LIMITS,
    IroncladCompany,
    IroncladFault,
    Workflow,
    iso,
)
from contractsync.simulators.ironclad_scenarios import IroncladFaults, ironclad_scenarios
from contractsync.simulators.ironclad_webhooks import IroncladWebhookApi
from contractsync.simulators.webhooks_out import Signer

API = "/public/api/v1"
RETRY_DELAYS: tuple[float, ...] = tuple(48.0 * 2**n for n in range(10))
"""Ten retries with exponential backoff, about 13.6 hours in all (49,104 s)."""
STATUSES = ("active", "paused", "completed", "cancelled")
Handler = Callable[[str], Awaitable[Any]]


def answer(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(json.dumps(body), status, dict(headers or {}), media_type="application/json")


class IroncladSimulator(Simulator):
    """An Ironclad company over HTTP. See the module docstring for the wire behaviour.

    Args:
        clients: OAuth clients, id -> secret (default ``sim-client`` / ``sim-secret``).
        api_keys: Legacy bearer API keys (default ``sim-api-key``).
        users: Emails ``x-as-user-email`` may name (default ``integration@contractsync.example``).
        rate_limits: Requests per minute by bucket.
        approvers: The template's approver roles in order, (role id, display name).
        clock: Unix seconds; drives rate windows, token expiry and timestamps.
        signing_key: The company's RSA webhook key; a fresh 2048-bit key by default.
        sign_algorithm: The ``signAlgorithm`` announced in the verification header.
        send_retry_after: Whether a 429 carries ``Retry-After`` (unconfirmed for Ironclad).
        **options: ``Simulator`` options (``faults``, ``webhook_client``, ``webhook_retry_delays``).
    """

    vendor = "ironclad"
    title = "Ironclad simulator"

    def __init__(
        self,
        *,
        clients: Mapping[str, str] | None = None,
        api_keys: Sequence[str] = ("sim-api-key",),
        users: Sequence[str] = ("integration@contractsync.example",),
        rate_limits: Mapping[str, int] = DEFAULT_RATE_LIMITS,
        approvers: Sequence[tuple[str, str]] = DEFAULT_APPROVERS,
        token_lifetime: float = 3600.0,
        clock: Callable[[], float] = time.time,
        signing_key: rsa.RSAPrivateKey | None = None,
        sign_algorithm: str = "RSA-SHA256",
        send_retry_after: bool = True,
        **options: Any,
    ) -> None:
        options.setdefault("webhook_retry_delays", RETRY_DELAYS)
        super().__init__(**options)
        self.signing_key = signing_key or rsa.generate_private_key(65537, 2048)
        self.sign_algorithm = sign_algorithm
        self.send_retry_after = send_retry_after
        self.company = IroncladCompany(
            clients=dict(clients or {"sim-client": "sim-secret"}),
            api_keys=set(api_keys),
            users=set(users),
            rate_limits=dict(rate_limits),
            approvers=tuple(approvers),
            token_lifetime=token_lifetime,
            clock=clock,
        )
        self._initial_limits = dict(rate_limits)
        self.hooks = IroncladWebhookApi(self.company, self.webhooks)

    def reset_state(self) -> None:
        """A fresh company (the signing key and clients stay)."""
        self.company.reset()
        self.company.buckets.limits = dict(self._initial_limits)

    def dump_state(self) -> dict[str, Any]:
        """Workflows and webhook registrations."""
        with self.company.lock:
            return {
                "workflows": [w.to_json() for w in self.company.workflows.values()],
                "webhooks": [self.hooks.model(h) for h in self.company.webhooks.values()],
                "rate_limits": dict(self.company.buckets.limits),
            }

    def fault_responses(self) -> FaultResponses:
        """Ironclad-shaped 500, 429 and 400 bodies."""
        return IroncladFaults(self.send_retry_after)

    def webhook_signer(self, secret: str) -> Signer:
        """Ironclad's RSA scheme with the company key; subscriptions hold no secret."""

        def signer(event_id: str, body: bytes, timestamp: int) -> Mapping[str, str]:
            nonce = secrets.token_hex(16)
            return sign(
                self.signing_key, event_id, body, nonce=nonce, algorithm=self.sign_algorithm
            )

        return signer

    def verification_key(self) -> str:
        """The PEM public key ``GET /webhooks/verification-key`` serves."""
        return (
            self.signing_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def emit(self, event: str, workflow: Workflow, **extra: str) -> None:
        """Queue a thin event about ``workflow`` for every webhook that wants it."""
        payload = {"event": event, "templateID": workflow.template, "workflowID": workflow.id}
        payload.update(extra)
        registration = self.hooks.first_for(event)
        self.webhooks.emit(
            event,
            {
                "companyID": self.company.company_id,
                "payload": payload,
                "timestamp": iso(self.company.clock()),
                "webhookID": registration.id if registration else "",
            },
            event_id=self.company.new_id(),
        )

    def _token(self, form: Mapping[str, str]) -> Response:
        if form.get("grant_type") != "client_credentials":
            return answer(400, {"error": "unsupported_grant_type"})
        token = self.company.issue_token(form.get("client_id", ""), form.get("client_secret", ""))
        if token is None:
            return answer(401, {"error": "invalid_client"})
        lifetime = int(self.company.token_lifetime)
        scope = form.get("scope", "public.workflows.readWorkflows public.webhooks.readWebhooks")
        return answer(
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": scope},
        )

    def _acting_user(self, request: Request, kind: str) -> str:
        email = request.headers.get("x-as-user-email")
        user_id = request.headers.get("x-as-user-id")
        if kind == "legacy":
            return email or "api-key"
        if not email and not user_id:
            raise IroncladFault(
                400,
                "MISSING_PARAM",
                "x-as-user-email or x-as-user-id is required with a client credentials token",
                "x-as-user-email",
            )
        if email and email not in self.company.users:
            raise IroncladFault(400, "INVALID_PARAM", "invalid user", "x-as-user-email")
        return email or str(user_id)

    async def _serve(self, request: Request, bucket: str | None, handler: Handler) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        kind = self.company.token_kind(token) if token else None
        if kind is None:
            return answer(401, {"code": "UNAUTHORIZED", "message": "Unauthorized", "param": None})
        wait = self.company.buckets.take(bucket)
        if wait is not None:
            status, headers, body = self.fault_responses().rate_limited(max(1.0, wait))
            return answer(status, body, headers)
        try:
            user = self._acting_user(request, kind)
            result = await handler(user)
        except IroncladFault as fault:
            return answer(fault.status, fault.body)
        if isinstance(result, Response):
            return result
        return answer(200, result)

    def approve(self, key: str, role: str, *, status: str, user: str) -> Workflow:
        """Set one approval and emit ``workflow_approval_status_changed``."""
        workflow = self.company.approve(key, role, status=status, user=user)
        approval = next(a for a in workflow.approvals if a.role == role)
        self.emit(
            "workflow_approval_status_changed",
            workflow,
            approvalID=approval.role,
            approvalName=approval.display_name,
            status=status,
            userEmail=user if "@" in user else "",
            userID=self.company.new_id(),
        )
        return workflow

    def vendor_routes(self) -> APIRouter:
        """The token endpoint, workflows, approvals and webhooks."""
        router = APIRouter()
        read, write = "pub:workflows:read", "pub:workflows:write"

        @router.post("/oauth/token")
        async def token(request: Request) -> Response:
            return self._token(dict(parse_qsl((await request.body()).decode())))

        @router.post(f"{API}/workflows")
        async def launch(request: Request) -> Response:
            return await self._serve(
                request, write, lambda user: workflows.launch(self, request, user)
            )

        @router.get(f"{API}/workflows")
        async def listing(request: Request) -> Response:
            return await self._serve(request, read, _sync(lambda: workflows.listing(self, request)))

        @router.get(f"{API}/workflows/{{key}}")
        async def one(request: Request, key: str) -> Response:
            fetch = _sync(lambda: self.company.workflow(key).to_json())
            return await self._serve(request, read, fetch)

        @router.get(f"{API}/workflows/{{key}}/approvals")
        async def approvals(request: Request, key: str) -> Response:
            return await self._serve(request, read, _sync(lambda: workflows.approvals(self, key)))

        @router.patch(f"{API}/workflows/{{key}}/approvals/{{role}}")
        async def patch_approval(request: Request, key: str, role: str) -> Response:
            return await self._serve(
                request,
                write,
                lambda user: workflows.patch_approval(self, request, key, role, user),
            )

        self.hooks.add_routes(router, API, self._serve, self.verification_key)
        return router

    def scenarios(self) -> Sequence[Scenario]:
        """Operator drivers: launch, approve, complete, amend and edit workflows; limits."""
        return ironclad_scenarios(self)


def _sync(call: Callable[[], Any]) -> Handler:
    async def handler(user: str) -> Any:
        return call()

    return handler


__all__ = ["API", "RETRY_DELAYS", "IroncladSimulator", "answer"]
