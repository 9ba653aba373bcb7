"""Declarative body shapes of the webhook senders: where the id and type live, what is required."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventShape:
    """How one kind of webhook body is read.

    Paths are dotted keys into the JSON object (``payload.event``). An object is checked for
    unknown fields only when the shape lists at least one field under it; objects with no
    listed children (``data`` of a CloudEvent, DocuSign's ``envelopeSummary``) are opaque.

    Attributes:
        name: The shape's name in settings (``ingress.sources.<name>.shape``).
        event_type_path: Where the event type is.
        event_id_path: Where the event id is, or ``None`` to use the id the signature scheme
            verified (a signed header, or one derived from signed body fields).
        required: Fields the hub needs to process the event; a missing one quarantines it.
        known: Every field the shape knows, required ones included.
    """

    name: str
    event_type_path: str
    event_id_path: str | None
    required: tuple[str, ...]
    known: frozenset[str]

    def __post_init__(self) -> None:
        unknown_required = set(self.required) - self.known
        if unknown_required:
            raise ValueError(f"required fields not in known: {sorted(unknown_required)}")

    def is_described(self, path: str) -> bool:
        """True when the object at ``path`` ('' for the root) has fields listed in ``known``."""
        if not path:
            return True
        prefix = path + "."
        return any(field.startswith(prefix) for field in self.known)


def _fields(*paths: str) -> frozenset[str]:
    return frozenset(paths)


IRONCLAD = EventShape(
    name="ironclad",
    # Thin envelope (developer.ironcladapp.com/docs/webhook-event-types); the id is the
    # signed X-Ironclad-Webhook-Event-Id header, and the workflow is fetched by its id.
    event_type_path="payload.event",
    event_id_path=None,
    required=("companyID", "payload.event", "payload.workflowID"),
    known=_fields(
        "companyID",
        "timestamp",
        "webhookID",
        "payload",
        "payload.event",
        "payload.workflowID",
        "payload.templateID",
        "payload.status",
        "payload.approvalID",
        "payload.approvalName",
        "payload.roleID",
        "payload.userEmail",
        "payload.userID",
        "payload.recordID",
    ),
)
"""Ironclad workflow events: ``{companyID, payload: {event, workflowID, ...}, timestamp, webhookID}``."""

DOCUSIGN = EventShape(
    name="docusign",
    # JSON SIM (Connect 2.0); the id is derived by the verifier from envelope, event,
    # recipient and generated time, all signed; retryCount is left out on purpose.
    event_type_path="event",
    event_id_path=None,
    required=("event", "data.accountId", "data.envelopeId"),
    known=_fields(
        "event",
        "apiVersion",
        "uri",
        "retryCount",
        "configurationId",
        "generatedDateTime",
        "data",
        "data.accountId",
        "data.userId",
        "data.envelopeId",
        "data.recipientId",
        "data.envelopeSummary",
    ),
)
"""DocuSign Connect JSON SIM: ``{event, apiVersion, uri, ..., data: {accountId, envelopeId, ...}}``."""

STANDARD = EventShape(
    name="standard",
    # CloudEvents 1.0 attributes plus the Standard Webhooks payload's "timestamp"; the id is
    # webhook-id, which the spec keeps identical across retries.
    event_type_path="type",
    event_id_path=None,
    required=("id", "type"),
    known=_fields(
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "timestamp",
        "datacontenttype",
        "dataschema",
        "data",
        "data_base64",
        "correlationid",
        "sequence",
        "traceparent",
    ),
)
"""CloudEvents-style JSON signed per Standard Webhooks (our simulators, any compliant sender)."""

SHAPES: dict[str, EventShape] = {shape.name: shape for shape in (IRONCLAD, DOCUSIGN, STANDARD)}
"""Every shipped shape by name."""

__all__ = ["DOCUSIGN", "IRONCLAD", "SHAPES", "STANDARD", "EventShape"]
