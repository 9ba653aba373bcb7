"""Reading a verified webhook body against its shape: strict JSON, schema drift, missing fields."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from contractsync.adapters.ingress.shapes import EventShape
from contractsync.errors import DataError
from contractsync.services.ingress import ParsedWebhook

MAX_EVENT_ID_CHARS = 255
MAX_EVENT_TYPE_CHARS = 128
UNKNOWN_EVENT_TYPE = "unknown"
MAX_UNKNOWN_REPORTED = 100
"""At most this many unknown paths are recorded per message (each cut to 200 characters)."""

BODY_MALFORMED = "webhook.body_malformed"
"""The body is not UTF-8 JSON (answered 400)."""
BODY_NOT_OBJECT = "webhook.body_not_object"
"""The body is JSON but not an object (answered 422)."""
EVENT_ID_INVALID = "webhook.event_id_invalid"
"""The event id is missing, empty or too long; nothing can be deduplicated (answered 422)."""

_MISSING = object()


def _malformed(message: str, **detail: Any) -> DataError:
    return DataError(
        message,
        code=BODY_MALFORMED,
        remediation="Send the event as one UTF-8 JSON object, exactly as signed.",
        detail=detail,
    )


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers may keep different copies of a repeated key; refuse the ambiguity.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _malformed(f"The body repeats the key {key[:60]!r} in one object.", key=key[:60])
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _malformed(f"The body contains {name}, which is not JSON.")


def decode_json_object(body: bytes) -> dict[str, Any]:
    """Decode ``body`` as one strict JSON object.

    Strict means UTF-8, no repeated keys in an object, and no ``NaN`` or ``Infinity``.

    Args:
        body: The raw, verified body bytes.

    Returns:
        The decoded object.

    Raises:
        DataError: ``webhook.body_malformed`` naming the byte, line and column at fault, or
            ``webhook.body_not_object`` naming the JSON type found instead.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(
            f"The body is not UTF-8 text: invalid byte at position {exc.start}.",
            position=exc.start,
        ) from None
    try:
        decoded = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants
        )
    except json.JSONDecodeError as exc:
        raise _malformed(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(character {exc.pos}).",
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except RecursionError:
        raise _malformed("The body nests JSON deeper than this server reads.") from None
    if not isinstance(decoded, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(decoded), "a number"
        )
        raise DataError(
            f"The body is {kind}; a webhook body must be a JSON object.",
            code=BODY_NOT_OBJECT,
            remediation="Send the event as one JSON object.",
            detail={"found": kind},
        )
    return decoded


def value_at(document: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in ``document``, or a sentinel when any step is absent."""
    current: Any = document
    for key in path.split("."):
        if not isinstance(current, Mapping) or key not in current:
            return _MISSING
        current = current[key]
    return current


def _is_missing(value: Any) -> bool:
    return value is _MISSING or value is None or value == ""


def unknown_fields(shape: EventShape, document: Mapping[str, Any]) -> tuple[str, ...]:
    """Dotted paths of fields the shape does not know, in objects the shape describes.

    Arrays are not descended into; objects without listed children are opaque. At most
    ``MAX_UNKNOWN_REPORTED`` paths are returned, so a drifting sender cannot bloat the inbox.
    """
    found: list[str] = []
    pending: list[tuple[str, Mapping[str, Any]]] = [("", document)]
    while pending:
        path, obj = pending.pop()
        for key, value in obj.items():
            child = f"{path}.{key}" if path else str(key)
            if child not in shape.known:
                found.append(child[:200])
            elif isinstance(value, Mapping) and shape.is_described(child):
                pending.append((child, value))
    return tuple(sorted(found)[:MAX_UNKNOWN_REPORTED])


def _event_id(shape: EventShape, document: Mapping[str, Any], verified_id: str | None) -> str:
    if shape.event_id_path is None:
        if verified_id is None:
            raise ValueError(f"shape {shape.name} takes its event id from the verifier")
        event_id: Any = verified_id
    else:
        event_id = value_at(document, shape.event_id_path)
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_CHARS:
        where = shape.event_id_path or "the signed event id"
        raise DataError(
            f"The event id ({where}) must be a string of 1 to {MAX_EVENT_ID_CHARS} characters.",
            code=EVENT_ID_INVALID,
            remediation="Send a unique event id per event, the same on every retry.",
            detail={"field": where},
        )
    return event_id


def parse_webhook(
    shape: EventShape, body: bytes, *, verified_id: str | None = None
) -> ParsedWebhook:
    """Read a verified body against ``shape``.

    A required field that is absent, null or empty, and an event type that is not a non-empty
    string of at most 128 characters, are reported in ``missing_fields`` (the message is then
    quarantined, never dropped); unknown fields are reported in ``unknown_fields``.

    Args:
        shape: The source's body shape.
        body: The raw body bytes, already verified.
        verified_id: The event id the signature scheme verified; required when the shape takes
            its id from there (``event_id_path`` is ``None``).

    Returns:
        The event id and type, the decoded object, and the drift found.

    Raises:
        DataError: ``webhook.body_malformed`` (not UTF-8 JSON), ``webhook.body_not_object``,
            or ``webhook.event_id_invalid``; each message names what is wrong.
    """
    document = decode_json_object(body)
    event_id = _event_id(shape, document, verified_id)
    missing = [path for path in shape.required if _is_missing(value_at(document, path))]
    raw_type = value_at(document, shape.event_type_path)
    is_type_usable = isinstance(raw_type, str) and 0 < len(raw_type) <= MAX_EVENT_TYPE_CHARS
    if not is_type_usable and shape.event_type_path not in missing:
        missing.append(shape.event_type_path)
    return ParsedWebhook(
        event_id=event_id,
        event_type=raw_type if is_type_usable else UNKNOWN_EVENT_TYPE,
        payload=document,
        unknown_fields=unknown_fields(shape, document),
        missing_fields=tuple(missing),
    )


__all__ = [
    "BODY_MALFORMED",
    "BODY_NOT_OBJECT",
    "EVENT_ID_INVALID",
    "UNKNOWN_EVENT_TYPE",
    "decode_json_object",
    "parse_webhook",
    "unknown_fields",
    "value_at",
]
