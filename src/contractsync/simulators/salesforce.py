"""The Salesforce simulator: OAuth2 client credentials, sObject REST, upsert, SOQL, composite, limits.

Wire behaviour (``reference/vendors.md`` §3):

- ``POST /services/oauth2/token`` (``grant_type=client_credentials``) answers ``access_token``,
  ``instance_url``, ``id``, ``token_type``, ``issued_at``, ``signature``; a bad or expired
  token on the REST API answers 401 ``[{"message": "Session expired or invalid",
  "errorCode": "INVALID_SESSION_ID"}]``.
- ``/services/data/vXX.X/...``: see ``salesforce_rest.py`` (upsert 201/200/204/300, error
  arrays, SOQL paging, composite). Every REST answer carries ``Sforce-Limit-Info:
  api-usage=N/M``; past the daily allocation it is 403 ``REQUEST_LIMIT_EXCEEDED``.
- An opportunity reaching ``Closed Won`` emits an ``opportunity.won`` event (CloudEvents JSON
  signed per Standard Webhooks) to every subscription, as the org's outbound integration would.

Operator scenarios: ``close_won_opportunity``, ``create_record``, ``edit_record``,
``set_api_allowance``, ``expire_tokens``, ``set_min_batch_size``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from contractsync.simulators.app import Scenario, Simulator
from contractsync.simulators.faults import FaultResponses
from contractsync.simulators.salesforce_org import SalesforceOrg
from contractsync.simulators.salesforce_rest import SalesforceRest, SfResponse, versions
from contractsync.simulators.salesforce_scenarios import SalesforceFaults, salesforce_scenarios
from contractsync.simulators.salesforce_schema import SalesforceFault
from contractsync.simulators.webhooks_out import Signer, standard_webhooks_signer

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
WON_EVENT = "opportunity.won"


def _json(answer: SfResponse, org: SalesforceOrg) -> Response:
    headers = {"Sforce-Limit-Info": org.limit_info(), **answer.headers}
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    return Response(json.dumps(answer.body), answer.status, headers, media_type="application/json")


class SalesforceSimulator(Simulator):
    """A Salesforce org over HTTP. See the module docstring for the wire behaviour.

    Args:
        api_limit: Daily API requests allowed.
        token_lifetime: Seconds an access token lives.
        clients: Connected apps for client credentials, id -> secret
            (default ``sim-client`` / ``sim-secret``).
        min_batch_size: Smallest query batch honoured; lower than 200 to page cheaply in tests.
        **options: ``Simulator`` options (``faults``, ``webhook_client`` ...).
    """

    vendor = "salesforce"
    title = "Salesforce simulator"

    def __init__(
        self,
        *,
        api_limit: int = 15_000,
        token_lifetime: float = 7200.0,
        clients: Mapping[str, str] | None = None,
        min_batch_size: int = 200,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.org = SalesforceOrg(
            api_limit=api_limit,
            token_lifetime=token_lifetime,
            clients=clients,
            min_batch_size=min_batch_size,
        )
        self._initial_batch = min_batch_size
        self.org.listener = self._on_change
        self.rest = SalesforceRest(self.org)

    def reset_state(self) -> None:
        """A fresh org."""
        self.org.reset()
        self.org.min_batch_size = self._initial_batch

    def dump_state(self) -> dict[str, Any]:
        """Records and API usage."""
        return self.org.dump()

    def fault_responses(self) -> FaultResponses:
        """Salesforce-shaped 500, 403 ``REQUEST_LIMIT_EXCEEDED`` and validation error."""
        return SalesforceFaults(self.org)

    def webhook_signer(self, secret: str) -> Signer:
        """Standard Webhooks v1 (``whsec_`` secrets)."""
        return standard_webhooks_signer(secret)

    def _on_change(
        self, sobject: str, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> None:
        if sobject != "Opportunity" or not after.get("IsWon") or (before and before.get("IsWon")):
            return
        event_id = f"evt_{uuid.uuid4().hex}"
        self.webhooks.emit(
            WON_EVENT,
            {
                "specversion": "1.0",
                "id": event_id,
                "source": f"urn:salesforce:org:{self.org.org_id}",
                "type": WON_EVENT,
                "subject": f"Opportunity/{after['Id']}",
                "time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                "datacontenttype": "application/json",
                "data": {
                    "sobject": "Opportunity",
                    "Id": after["Id"],
                    "AccountId": after.get("AccountId"),
                    "StageName": after.get("StageName"),
                    "changeType": "CREATE" if before is None else "UPDATE",
                },
            },
            event_id=event_id,
        )

    def _token(self, request: Request, form: Mapping[str, Any]) -> Response:
        if form.get("grant_type") != "client_credentials":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            }
            return Response(json.dumps(body), 400, media_type="application/json")
        token = self.org.issue_token(
            str(form.get("client_id", "")), str(form.get("client_secret", ""))
        )
        if token is None:
            body = {"error": "invalid_client", "error_description": "invalid client credentials"}
            return Response(json.dumps(body), 400, media_type="application/json")
        issued_at = str(int(self.org.clock() * 1000))
        instance_url = str(request.base_url).rstrip("/")
        identity = f"https://login.salesforce.com/id/{self.org.org_id}/{self.org.user_id}"
        signature = base64.b64encode(
            hmac.new(b"sim-signing-key", f"{identity}{issued_at}".encode(), hashlib.sha256).digest()
        ).decode()
        return Response(
            json.dumps(
                {
                    "access_token": token,
                    "signature": signature,
                    "token_format": "opaque",
                    "scope": "api",
                    "instance_url": instance_url,
                    "id": identity,
                    "token_type": "Bearer",
                    "issued_at": issued_at,
                }
            ),
            200,
            media_type="application/json",
        )

    async def _rest(self, request: Request, path: str) -> Response:
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ").removeprefix("OAuth ").strip()
        if not token or not self.org.is_valid_token(token):
            return _json(SfResponse(401, INVALID_SESSION), self.org)
        try:
            self.org.count_call()
            raw = await request.body()
            body = json.loads(raw) if raw else None
        except SalesforceFault as fault:
            return _json(SfResponse(fault.status, fault.body), self.org)
        except ValueError:
            refused = SalesforceFault(
                400, "JSON_PARSER_ERROR", "The request body is not valid JSON"
            )
            return _json(SfResponse(refused.status, refused.body), self.org)
        options = request.headers.get("sforce-query-options", "")
        batch = next(
            (
                int(p.split("=")[1])
                for p in options.split(",")
                if p.strip().startswith("batchSize=") and p.split("=")[1].isdigit()
            ),
            2000,
        )
        answer = self.rest.dispatch(
            request.method, "/" + path, dict(request.query_params), body, batch_size=batch
        )
        return _json(answer, self.org)

    def vendor_routes(self) -> APIRouter:
        """The token endpoint, the version list and every REST resource."""
        router = APIRouter()

        @router.post("/services/oauth2/token")
        async def token(request: Request) -> Response:
            # Parsed by hand: Starlette's form parser needs python-multipart, not a dependency.
            return self._token(request, dict(parse_qsl((await request.body()).decode())))

        @router.get("/services/data")
        @router.get("/services/data/")
        async def list_versions() -> Response:
            return Response(json.dumps(versions()), media_type="application/json")

        @router.api_route(
            "/services/data/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
        )
        async def rest(request: Request, path: str) -> Response:
            return await self._rest(request, path)

        return router

    def scenarios(self) -> Sequence[Scenario]:
        """Operator drivers: close-won an opportunity, create or edit records, limits, tokens."""
        return salesforce_scenarios(self.org)


__all__ = ["WON_EVENT", "SalesforceSimulator"]
