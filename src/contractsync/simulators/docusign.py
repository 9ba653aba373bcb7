"""The DocuSign simulator: JWT grant, eSignature REST envelopes with limits, Connect JSON SIM events.

Wire behaviour (``reference/vendors.md`` §1):

- ``POST /oauth/token`` (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, an RS256
  assertion signed with the integration's key) and ``GET /oauth/userinfo`` (``accounts[]`` with
  ``account_id`` and ``base_uri``).
- ``GET /restapi/v2.1/accounts/{accountId}/envelopes/{envelopeId}`` (``?include=custom_fields``),
  ``.../envelopes/{envelopeId}/custom_fields``, and ``.../envelopes?from_date=&status=
  &start_position=&count=`` (``{envelopes, resultSetSize, totalSetSize, startPosition,
  endPosition, nextUri}``). Errors are ``{errorCode, message}``; every answer carries
  ``X-RateLimit-*`` and ``X-BurstLimit-*``; past the hourly (3,000) or 30-second burst (500)
  allowance the answer is ``HOURLY_APIINVOCATION_LIMIT_EXCEEDED`` /
  ``BURST_APIINVOCATION_LIMIT_EXCEEDED``.
- Connect JSON SIM events (``envelope-sent``, ``-delivered``, ``-completed``, ``-declined``,
  ``-voided``) signed with ``X-DocuSign-Signature-1..N``; retries rewrite ``retryCount``;
  ``republish_envelope`` delivers the same event again (a repeated delivery).

Unconfirmed and configurable: the HTTP status of a spent limit (``limit_status``, 429 by
default; 400 is the other candidate), the Connect retry schedule (``webhook_retry_delays``),
the list endpoint's shape (recalled from the eSignature reference, not in vendors.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request, Response

from contractsync.simulators.app import Scenario, Simulator
from contractsync.simulators.docusign_account import (
    BURST_LIMIT,
    HOURLY_LIMIT,
    DocuSignAccount,
    DocuSignFault,
    Envelope,
)
from contractsync.simulators.docusign_connect import ConnectWebhooks, connect_signer, message
from contractsync.simulators.docusign_scenarios import DocuSignFaults, docusign_scenarios
from contractsync.simulators.faults import FaultResponses
from contractsync.simulators.webhooks_out import Signer

REST = "/restapi/v2.1/accounts/{account_id}"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
RETRY_DELAYS: tuple[float, ...] = tuple(15.0 * 2**n for n in range(10))
"""Connect's SIM retry schedule is unconfirmed; exponential from 15 s, ten retries."""


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, dict(headers or {}), media_type="application/json")


class DocuSignSimulator(Simulator):
    """A DocuSign eSignature account over HTTP. See the module docstring for the wire behaviour.

    Args:
        integrations: Integration key -> RSA public key of its JWT assertions.
        hourly_limit: API calls per hour; burst_limit: per 30 seconds.
        limit_status: The HTTP status of a spent allowance (unconfirmed: 429 or 400).
        clock: Unix seconds; drives limits, token expiry and timestamps.
        **options: ``Simulator`` options (``faults``, ``webhook_client``, ``webhook_retry_delays``).
    """

    vendor = "docusign"
    title = "DocuSign eSignature simulator"

    def __init__(
        self,
        *,
        integrations: Mapping[str, rsa.RSAPublicKey] | None = None,
        hourly_limit: int = HOURLY_LIMIT,
        burst_limit: int = BURST_LIMIT,
        limit_status: int = 429,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        delays = options.pop("webhook_retry_delays", RETRY_DELAYS)
        webhook_client = options.pop("webhook_client", None)
        super().__init__(**options)
        self.webhooks = ConnectWebhooks(
            injector=self.injector,
            signer_factory=self.webhook_signer,
            client=webhook_client,
            retry_delays=delays,
        )
        self.limit_status = limit_status
        self.account = DocuSignAccount(
            integrations=dict(integrations or {}),
            hourly_limit=hourly_limit,
            burst_limit=burst_limit,
            clock=clock,
        )
        self._initial = (hourly_limit, burst_limit)

    def reset_state(self) -> None:
        """A fresh account (integrations stay)."""
        self.account.reset()
        self.account.hourly_limit, self.account.burst_limit = self._initial

    def dump_state(self) -> dict[str, Any]:
        """Envelopes and API usage."""
        with self.account.lock:
            envelopes = [
                e.to_json(self.account.account_id, include_custom_fields=True)
                for e in self.account.envelopes.values()
            ]
            return {"envelopes": envelopes, "api_used_this_hour": self.account.used}

    def fault_responses(self) -> FaultResponses:
        """DocuSign-shaped 500, spent-limit and 400 bodies."""
        return DocuSignFaults(self.limit_status)

    def webhook_signer(self, secret: str) -> Signer:
        """Connect HMAC: one numbered header per key in the configuration's secret."""
        return connect_signer(secret)

    def emit(self, event: str, envelope: Envelope, *, generated: float | None = None) -> None:
        """Queue a JSON SIM message; its id is the hub's dedupe key (envelope, event, time)."""
        when = self.account.clock() if generated is None else generated
        body = message(
            event,
            envelope,
            account_id=self.account.account_id,
            user_id=self.account.user_id,
            generated=when,
        )
        event_id = f"{envelope.id}:{event}:{body['generatedDateTime']}"
        self.webhooks.emit(event, body, event_id=event_id)

    def _token(self, form: Mapping[str, str], host: str) -> Response:
        if form.get("grant_type") != JWT_GRANT:
            return _json(400, {"error": "unsupported_grant_type"})
        try:
            token = self.account.grant(form.get("assertion", ""), host=host)
        except DocuSignFault as fault:
            body = {"error": fault.body["errorCode"], "error_description": fault.body["message"]}
            return _json(400, body)
        lifetime = int(self.account.token_lifetime)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime})

    def _userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not self.account.is_valid(token):
            return _json(401, {"error": "invalid_request", "error_description": "invalid token"})
        account = {
            "account_id": self.account.account_id,
            "is_default": True,
            "account_name": "contractsync simulator",
            "base_uri": str(request.base_url).rstrip("/"),
        }
        body = {"sub": self.account.user_id, "name": "Integration", "accounts": [account]}
        return _json(200, body)

    def _rest(self, request: Request, account_id: str, answer: Callable[[], Any]) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not self.account.is_valid(token):
            body = {
                "errorCode": "USER_AUTHENTICATION_FAILED",
                "message": "One or both of Username and Password are invalid.",
            }
            return _json(401, body)
        try:
            headers = self.account.count_call()
        except DocuSignFault as fault:
            return _json(self.limit_status, fault.body, fault.headers)
        if account_id != self.account.account_id:
            body = {"errorCode": "USER_LACKS_MEMBERSHIP", "message": "The user is not a member."}
            return _json(400, body, headers)
        try:
            return _json(200, answer(), headers)
        except DocuSignFault as fault:
            return _json(fault.status, fault.body, headers)

    def _list(self, request: Request) -> dict[str, Any]:
        query = request.query_params
        if not query.get("from_date"):
            raise DocuSignFault(
                400, "INVALID_REQUEST_PARAMETER", "from_date or envelope_ids is required."
            )
        start, count = query.get("start_position", "0"), query.get("count", "100")
        if not start.isdigit() or not count.isdigit() or not 1 <= int(count) <= 1000:
            raise DocuSignFault(400, "INVALID_REQUEST_PARAMETER", "start_position or count.")
        statuses = {s for s in query.get("status", "").split(",") if s}
        with self.account.lock:
            found = [
                e for e in self.account.envelopes.values() if (not statuses or e.status in statuses)
            ]
        first, size = int(start), int(count)
        chunk = found[first : first + size]
        body: dict[str, Any] = {
            "resultSetSize": str(len(chunk)),
            "totalSetSize": str(len(found)),
            "startPosition": str(first),
            "endPosition": str(first + len(chunk) - 1),
            "envelopes": [
                e.to_json(self.account.account_id, include_custom_fields=False) for e in chunk
            ],
        }
        if first + len(chunk) < len(found):
            body["nextUri"] = (
                f"/accounts/{self.account.account_id}/envelopes?start_position="
                f"{first + size}&count={size}&from_date={query['from_date']}"
            )
        return body

    def vendor_routes(self) -> APIRouter:
        """OAuth, userinfo and the envelope resources."""
        router = APIRouter()
        account = self.account

        @router.post("/oauth/token")
        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            return self._token(form, request.url.hostname or "")

        @router.get("/oauth/userinfo")
        async def userinfo(request: Request) -> Response:
            return self._userinfo(request)

        @router.get(f"{REST}/envelopes")
        async def listing(request: Request, account_id: str) -> Response:
            return self._rest(request, account_id, lambda: self._list(request))

        @router.get(f"{REST}/envelopes/{{envelope_id}}")
        async def envelope(request: Request, account_id: str, envelope_id: str) -> Response:
            include = "custom_fields" in request.query_params.get("include", "").split(",")
            return self._rest(
                request,
                account_id,
                lambda: account.envelope(envelope_id).to_json(
                    account_id, include_custom_fields=include
                ),
            )

        @router.get(f"{REST}/envelopes/{{envelope_id}}/custom_fields")
        async def custom_fields(request: Request, account_id: str, envelope_id: str) -> Response:
            return self._rest(
                request, account_id, lambda: account.envelope(envelope_id).custom_fields_json()
            )

        return router

    def scenarios(self) -> Sequence[Scenario]:
        """Operator drivers: Connect configuration, envelope lifecycle, republish, allowances."""
        return docusign_scenarios(self)


__all__ = ["JWT_GRANT", "RETRY_DELAYS", "DocuSignSimulator"]
