"""Tryton's JSON-RPC wire format: request envelopes and its tagged types (Decimal, dates, bytes)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any


def _tag(value: object) -> object:
    # datetime is a subclass of date, so it must be tested first.
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not serialisable for Tryton")


def _untag(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "time":
        return dt.time(
            obj.get("hour", 0),
            obj.get("minute", 0),
            obj.get("second", 0),
            obj.get("microsecond", 0),
        )
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def request_body(request_id: int, method: str, params: list[Any]) -> bytes:
    """Return the JSON bytes of one full JSON-RPC envelope.

    A full envelope (``id``, ``method``, ``params``) matters: without it Tryton answers
    user errors with an HTML 400 instead of a structured ``error`` member.

    Raises:
        TypeError: if a parameter has a type Tryton cannot receive.
    """
    envelope = {"id": request_id, "method": method, "params": params}
    return json.dumps(envelope, default=_tag, separators=(",", ":")).encode()


def decode(body: bytes) -> Any:
    """Parse a Tryton reply, turning tagged objects back into Decimal, date, timedelta, bytes.

    Raises:
        ValueError: if the body is not JSON.
    """
    return json.loads(body, object_hook=_untag)
