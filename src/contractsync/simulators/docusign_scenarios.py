"""Operator scenarios and synthetic failures of the DocuSign simulator, in DocuSign's shapes.

Scenarios (``POST /_sim/scenarios/{name}``):

- ``configure_connect``: a Connect configuration ``{url, hmac_keys, events}``;
- ``register_integration``: an integration key and the PEM public key of its JWT assertions;
- ``create_envelope``: an envelope sent for signature, custom field ``contractId`` (by
  default) holding the contract id; emits ``envelope-sent``;
- ``deliver_envelope``, ``complete_envelope``, ``decline_envelope``, ``void_envelope``: the
  envelope's next status; each emits its Connect event;
- ``republish_envelope``: the envelope's last event delivered again, same identity;
- ``set_api_allowance``: the hourly and burst allowances and the calls used this hour.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from contractsync.simulators.app import Scenario
from contractsync.simulators.docusign_account import DocuSignFault, public_key
from contractsync.simulators.docusign_connect import ENVELOPE_EVENTS

if TYPE_CHECKING:
    from contractsync.simulators.docusign import DocuSignSimulator


class DocuSignFaults:
    """DocuSign-shaped 500, spent allowance and 400 bodies.

    Args:
        limit_status: The status of a spent allowance (unconfirmed: 429 or 400).
    """

    def __init__(self, limit_status: int) -> None:
        self.limit_status = limit_status

    def server_error(self) -> tuple[int, dict[str, str], Any]:
        """500 ``UNSPECIFIED_ERROR``."""
        return 500, {}, {"errorCode": "UNSPECIFIED_ERROR", "message": "An error occurred."}

    def rate_limited(self, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
        """``HOURLY_APIINVOCATION_LIMIT_EXCEEDED``; DocuSign sends no ``Retry-After``."""
        body = {
            "errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
            "message": "The maximum number of hourly API invocations has been exceeded.",
        }
        headers = {"X-RateLimit-Remaining": "0"}
        if retry_after is not None:
            headers["Retry-After"] = str(round(retry_after))
        return self.limit_status, headers, body

    def validation_error(self) -> tuple[int, dict[str, str], Any]:
        """400 ``INVALID_REQUEST_PARAMETER``."""
        body = {"errorCode": "INVALID_REQUEST_PARAMETER", "message": "Simulated: invalid."}
        return 400, {}, body


class ConnectBody(BaseModel):
    """A Connect configuration: where to publish, the HMAC keys, the envelope events."""

    url: str
    hmac_keys: list[str] = Field(min_length=1, max_length=100)
    events: list[str] = Field(default_factory=lambda: sorted(ENVELOPE_EVENTS))


class IntegrationBody(BaseModel):
    """An integration key and its RSA public key (PEM)."""

    integration_key: str
    public_key_pem: str


class Signer(BaseModel):
    """A signer of an envelope."""

    email: str
    name: str


class CreateBody(BaseModel):
    """An envelope for a contract, sent for signature."""

    contract_id: str
    custom_field: str = "contractId"
    email_subject: str = "Please sign your statement of work"
    signers: list[Signer] = Field(
        default_factory=lambda: [Signer(email="cfo@customer.example", name="Customer CFO")]
    )
    envelope_id: str | None = None


class EnvelopeBody(BaseModel):
    """One envelope, and a reason when voiding."""

    envelope_id: str
    reason: str | None = None


class AllowanceBody(BaseModel):
    """The hourly and burst allowances, and optionally the calls used this hour."""

    hourly: int | None = Field(default=None, ge=0)
    burst: int | None = Field(default=None, ge=0)
    used: int | None = Field(default=None, ge=0)


def _guarded(run: Any) -> Any:
    def guarded(body: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = run(body)
        except DocuSignFault as fault:
            raise HTTPException(fault.status, fault.body) from None
        return result

    return guarded


def docusign_scenarios(sim: DocuSignSimulator) -> tuple[Scenario, ...]:
    """The operator drivers of one simulator (see the module docstring)."""
    account = sim.account
    last_event: dict[str, tuple[str, float]] = {}

    def connect(body: ConnectBody) -> dict[str, Any]:
        subscription = sim.webhooks.subscribe(body.url, json.dumps(body.hmac_keys), body.events)
        return {"id": subscription.id}

    def integration(body: IntegrationBody) -> dict[str, Any]:
        account.integrations[body.integration_key] = public_key(body.public_key_pem)
        return {"integration_key": body.integration_key}

    def create(body: CreateBody) -> dict[str, Any]:
        envelope = account.create(
            contract_id=body.contract_id,
            field_name=body.custom_field,
            subject=body.email_subject,
            signers=[s.model_dump() for s in body.signers],
            envelope_id=body.envelope_id,
        )
        last_event[envelope.id] = ("envelope-sent", account.clock())
        sim.emit("envelope-sent", envelope)
        return {"envelope_id": envelope.id, "status": envelope.status}

    def move(status: str) -> Any:
        def run(body: EnvelopeBody) -> dict[str, Any]:
            envelope = account.move(body.envelope_id, status, reason=body.reason)
            last_event[envelope.id] = (f"envelope-{status}", account.clock())
            sim.emit(f"envelope-{status}", envelope)
            return {"envelope_id": envelope.id, "status": envelope.status}

        return run

    def republish(body: EnvelopeBody) -> dict[str, Any]:
        envelope = account.envelope(body.envelope_id)
        event, generated = last_event.get(envelope.id, ("envelope-sent", envelope.created))
        sim.emit(event, envelope, generated=generated)
        return {"envelope_id": envelope.id, "event": event}

    def allowance(body: AllowanceBody) -> dict[str, Any]:
        with account.lock:
            account.hourly_limit = body.hourly if body.hourly is not None else account.hourly_limit
            account.burst_limit = body.burst if body.burst is not None else account.burst_limit
            if body.used is not None:
                account.hour, account.used = int(account.clock() // 3600), body.used
            return {"hourly": account.hourly_limit, "burst": account.burst_limit}

    return (
        Scenario("configure_connect", "A Connect configuration.", ConnectBody, connect),
        Scenario("register_integration", "A JWT integration key.", IntegrationBody, integration),
        Scenario(
            "create_envelope", "Send an envelope for a contract.", CreateBody, _guarded(create)
        ),
        Scenario(
            "deliver_envelope", "The signer opened it.", EnvelopeBody, _guarded(move("delivered"))
        ),
        Scenario(
            "complete_envelope", "Every signer signed.", EnvelopeBody, _guarded(move("completed"))
        ),
        Scenario(
            "decline_envelope", "A signer declined.", EnvelopeBody, _guarded(move("declined"))
        ),
        Scenario("void_envelope", "The sender voided it.", EnvelopeBody, _guarded(move("voided"))),
        Scenario(
            "republish_envelope", "Deliver the last event again.", EnvelopeBody, _guarded(republish)
        ),
        Scenario("set_api_allowance", "Hourly and burst allowances.", AllowanceBody, allowance),
    )


__all__ = [
    "AllowanceBody",
    "ConnectBody",
    "CreateBody",
    "DocuSignFaults",
    "EnvelopeBody",
    "IntegrationBody",
    "docusign_scenarios",
]
