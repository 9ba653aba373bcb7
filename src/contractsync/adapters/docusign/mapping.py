"""Pure mapping between DocuSign envelopes and signing requests (no I/O).

=============================  ==============================================================
envelope                       SignatureRequest
=============================  ==============================================================
envelopeId                     ref (system, ``envelope``, envelopeId)
customFields.textCustomFields  contract_id: the value of the configured field (``contractId``)
status                         status: sent | delivered | completed | declined | voided
                               (``created`` reads as sent; anything else is a DataError)
completedDateTime              completed_at (only for a completed envelope)
=============================  ==============================================================
"""

from __future__ import annotations

from typing import Any, Literal, cast

from contractsync.adapters.docusign.payloads import CustomFields, Envelope
from contractsync.domain.identity import ExternalRef
from contractsync.errors import DataError
from contractsync.ports.systems import SignatureRequest

ENVELOPE = "envelope"
Status = Literal["sent", "delivered", "completed", "declined", "voided"]
STATUSES = {"created": "sent", "sent": "sent", "delivered": "delivered",
            "completed": "completed", "declined": "declined", "voided": "voided"}  # fmt: skip


def signature_request_from_envelope(
    envelope: Envelope, *, system: str, contract_field: str
) -> SignatureRequest:
    """The signing request an envelope stands for.

    Raises:
        DataError: ``docusign.contract_field_missing`` naming the custom field, or
            ``docusign.status_unknown``.
    """
    fields = envelope.custom_fields or CustomFields()
    contract_id = fields.value_of(contract_field)
    if contract_id is None:
        raise DataError(
            f"DocuSign envelope {envelope.envelope_id} has no custom field {contract_field!r}.",
            code="docusign.contract_field_missing",
            remediation=f"Send envelopes with a text custom field {contract_field!r} holding "
            "the contract id (or set contract_field to the field your envelopes use).",
            detail={"envelope_id": envelope.envelope_id, "field": contract_field},
        )
    status = STATUSES.get(envelope.status.lower())
    if status is None:
        raise DataError(
            f"DocuSign envelope {envelope.envelope_id} has status {envelope.status!r}.",
            code="docusign.status_unknown",
            detail={"envelope_id": envelope.envelope_id, "field": "status"},
        )
    return SignatureRequest(
        ref=ExternalRef(system=system, kind=ENVELOPE, id=envelope.envelope_id),
        contract_id=contract_id,
        status=cast(Status, status),
        completed_at=envelope.completed_date_time if status == "completed" else None,
    )


def custom_fields_for(contract_id: str, *, contract_field: str) -> dict[str, Any]:
    """The envelope ``customFields`` that link a new envelope to ``contract_id``."""
    field = {"name": contract_field, "value": contract_id, "show": "false", "required": "false"}
    return {"textCustomFields": [field]}


__all__ = ["ENVELOPE", "STATUSES", "custom_fields_for", "signature_request_from_envelope"]
