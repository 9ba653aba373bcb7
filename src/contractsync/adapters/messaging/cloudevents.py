"""BusinessEvent to and from the CloudEvents 1.0 structured JSON envelope (pure, no I/O)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import DataError

SPECVERSION = "1.0"
SOURCE = "contractsync"
CONTENT_TYPE = "application/cloudevents+json"
"""Media type of a structured-mode CloudEvent (HTTP ``Content-Type``)."""
DATA_CONTENT_TYPE = "application/json"

_REQUIRED = ("specversion", "id", "source", "type", "subject", "time", "correlationid")
# CloudEvents §3.1.1: attribute names are lowercase ASCII letters and digits only.
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]{1,20}$")
# The envelope attribute each BusinessEvent field travels in, for naming errors.
_ATTRIBUTE_OF_FIELD = {
    "id": "id",
    "type": "type",
    "subject": "subject",
    "correlation_id": "correlationid",
    "occurred_at": "time",
    "data": "data",
    "schema_version": "schemaversion",
}


def to_cloudevent(event: BusinessEvent) -> dict[str, Any]:
    """Return the structured CloudEvents 1.0 envelope of ``event`` as JSON-ready data.

    Attributes: ``specversion`` 1.0, ``id`` (the event id), ``source`` ``contractsync``,
    ``type``, ``subject``, ``time`` (RFC 3339, UTC, ``Z``), ``datacontenttype``
    ``application/json``, ``data``, and the extensions ``correlationid`` (the contract lineage
    id) and ``schemaversion`` (the canonical schema the data follows).

    Args:
        event: Any business event.

    Returns:
        A new dict; ``from_cloudevent`` turns it back into an equal event.
    """
    dumped = event.model_dump(mode="json")
    return {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": SOURCE,
        "type": event.type.value,
        "subject": event.subject,
        "time": format_time(event.occurred_at),
        "datacontenttype": DATA_CONTENT_TYPE,
        "correlationid": event.correlation_id,
        "schemaversion": event.schema_version,
        "data": dumped["data"],
    }


def from_cloudevent(envelope: Mapping[str, Any]) -> BusinessEvent:
    """Read a structured CloudEvents 1.0 envelope written by contractsync.

    Unknown extension attributes with valid names are ignored (the spec asks consumers to
    tolerate them); everything a BusinessEvent needs must be present and well-formed.

    Args:
        envelope: The decoded JSON object.

    Returns:
        The business event the envelope carries.

    Raises:
        DataError: The envelope is malformed; ``detail["attribute"]`` names the culprit.
    """
    if not isinstance(envelope, Mapping):
        raise _malformed("envelope", "a CloudEvent must be a JSON object")
    for name in envelope:
        if name not in {"data", "data_base64"} and not _ATTRIBUTE_NAME.match(str(name)):
            raise _malformed(
                str(name), "attribute names must be 1-20 lowercase ASCII letters or digits"
            )
    for name in _REQUIRED:
        value = envelope.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _malformed(name, "required and must be a non-empty string")
    if envelope["specversion"] != SPECVERSION:
        raise _malformed("specversion", f"must be {SPECVERSION!r}")
    if envelope["source"] != SOURCE:
        raise _malformed("source", f"must be {SOURCE!r}; this is not a contractsync event")
    if envelope["type"] not in EventType.__members__.values():
        raise _malformed("type", "not a contractsync event type")
    content_type = envelope.get("datacontenttype", DATA_CONTENT_TYPE)
    if content_type != DATA_CONTENT_TYPE:
        raise _malformed("datacontenttype", f"must be {DATA_CONTENT_TYPE!r}")
    if "data_base64" in envelope:
        raise _malformed("data_base64", "binary data is not used by contractsync events")
    data = envelope.get("data", {})
    if not isinstance(data, dict):
        raise _malformed("data", "must be a JSON object")
    fields: dict[str, Any] = {
        "id": envelope["id"],
        "type": envelope["type"],
        "subject": envelope["subject"],
        "correlation_id": envelope["correlationid"],
        "occurred_at": parse_time(envelope["time"]),
        "data": data,
    }
    if "schemaversion" in envelope:
        fields["schema_version"] = envelope["schemaversion"]
    try:
        return BusinessEvent.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "envelope"
        raise _malformed(_ATTRIBUTE_OF_FIELD.get(field, field), first["msg"]) from exc


def encode(event: BusinessEvent) -> bytes:
    """Serialise ``event`` as compact UTF-8 CloudEvents JSON (the bytes that get signed/sent)."""
    return json.dumps(
        to_cloudevent(event), ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode()


def decode(body: bytes) -> BusinessEvent:
    """Parse CloudEvents JSON bytes into a business event.

    Raises:
        DataError: The bytes are not JSON, or the envelope is malformed (attribute named).
    """
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed("envelope", f"not valid JSON: {exc}") from exc
    return from_cloudevent(envelope)


def format_time(instant: datetime) -> str:
    """Write an aware instant as RFC 3339 in UTC with a ``Z`` (microseconds only when set)."""
    utc = instant.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def parse_time(text: str) -> datetime:
    """Read an RFC 3339 timestamp; it must carry a zone offset (``Z`` or ``±hh:mm``).

    Raises:
        DataError: naming ``time`` when the text is not an RFC 3339 date-time with offset.
    """
    # RFC 3339 allows a lowercase "t"/"z" and a space is not allowed; fromisoformat is laxer
    # about the separator, so check the shape first.
    if not re.match(
        r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", text
    ):
        raise _malformed("time", "must be an RFC 3339 date-time with a zone offset")
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise _malformed("time", str(exc)) from exc
    return parsed.astimezone(UTC)


def _malformed(attribute: str, reason: str) -> DataError:
    return DataError(
        f"malformed CloudEvent: {attribute}: {reason}",
        code="event.malformed_envelope",
        remediation="Send a CloudEvents 1.0 structured JSON envelope written by contractsync.",
        detail={"attribute": attribute},
    )


__all__ = [
    "CONTENT_TYPE",
    "DATA_CONTENT_TYPE",
    "SOURCE",
    "SPECVERSION",
    "decode",
    "encode",
    "format_time",
    "from_cloudevent",
    "parse_time",
    "to_cloudevent",
]
