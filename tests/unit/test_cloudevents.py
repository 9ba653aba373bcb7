"""CloudEvents 1.0 structured JSON: BusinessEvent both ways, and malformed envelopes refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from contractsync.adapters.messaging.cloudevents import (
    CONTENT_TYPE,
    decode,
    encode,
    format_time,
    from_cloudevent,
    parse_time,
    to_cloudevent,
)
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.errors import DataError


def _event(**overrides: Any) -> BusinessEvent:
    fields: dict[str, Any] = {
        "id": "6f1c0c3e-8a53-4a36-9a77-1f0e5cf0b001",
        "type": EventType.CONTRACT_APPROVED,
        "subject": "contract/C-100",
        "correlation_id": "lineage-C-100",
        "occurred_at": datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        "data": {"contract_id": "C-100", "amount": {"currency": "EUR", "value": "120000.00"}},
    }
    fields.update(overrides)
    return BusinessEvent.model_validate(fields)


def test_an_event_becomes_a_structured_cloudevent_with_every_attribute() -> None:
    envelope = to_cloudevent(_event())

    assert envelope == {
        "specversion": "1.0",
        "id": "6f1c0c3e-8a53-4a36-9a77-1f0e5cf0b001",
        "source": "contractsync",
        "type": "contract.approved",
        "subject": "contract/C-100",
        "time": "2026-05-01T12:00:00Z",
        "datacontenttype": "application/json",
        "correlationid": "lineage-C-100",
        "schemaversion": "1.0",
        "data": {"contract_id": "C-100", "amount": {"currency": "EUR", "value": "120000.00"}},
    }


def test_extension_attribute_names_are_lowercase_alphanumeric_as_the_spec_requires() -> None:
    for name in to_cloudevent(_event()):
        assert name == "data" or (name.isalnum() and name.islower() and len(name) <= 20)


@pytest.mark.parametrize(
    "event",
    [
        _event(),
        _event(type=EventType.DRIFT_FOUND, data={}),
        _event(
            occurred_at=datetime(2026, 5, 1, 14, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=2)))
        ),
        _event(data={"nested": {"list": [1, 2.5, None, True, "é"]}}),
        _event(id="x" * 255, subject="s" * 255),
    ],
    ids=["approved", "drift-no-data", "offset-and-microseconds", "nested-unicode", "longest-ids"],
)
def test_every_event_survives_the_round_trip_through_json_bytes(event: BusinessEvent) -> None:
    assert decode(encode(event)) == event
    assert from_cloudevent(to_cloudevent(event)) == event


def test_time_is_written_in_utc_whatever_zone_the_event_was_recorded_in() -> None:
    instant = datetime(2026, 5, 1, 14, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=2)))

    assert format_time(instant) == "2026-05-01T12:00:00.250000Z"
    assert parse_time("2026-05-01T14:00:00.25+02:00") == datetime(
        2026, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC
    )


def test_encoded_bytes_are_compact_stable_json_of_the_structured_media_type() -> None:
    body = encode(_event())

    assert body == encode(_event())
    assert b" " not in body.replace(b"contract/C-100", b"")
    assert json.loads(body)["specversion"] == "1.0"
    assert CONTENT_TYPE == "application/cloudevents+json"


def test_an_absent_datacontenttype_and_absent_data_mean_an_empty_json_object() -> None:
    envelope = to_cloudevent(_event())
    del envelope["datacontenttype"], envelope["data"], envelope["schemaversion"]

    assert from_cloudevent(envelope).data == {}


def test_unknown_extension_attributes_are_tolerated() -> None:
    envelope = {**to_cloudevent(_event()), "traceparent": "00-abc-def-01"}

    assert from_cloudevent(envelope) == _event()


def _without(name: str) -> dict[str, Any]:
    envelope = to_cloudevent(_event())
    del envelope[name]
    return envelope


def _with(**attributes: Any) -> dict[str, Any]:
    return {**to_cloudevent(_event()), **attributes}


@pytest.mark.parametrize(
    ("envelope", "attribute"),
    [
        (_without("specversion"), "specversion"),
        (_with(specversion="0.3"), "specversion"),
        (_without("id"), "id"),
        (_with(id=""), "id"),
        (_with(id="x" * 256), "id"),
        (_without("source"), "source"),
        (_with(source="urn:elsewhere"), "source"),
        (_without("type"), "type"),
        (_with(type="contract.exploded"), "type"),
        (_with(type=42), "type"),
        (_without("subject"), "subject"),
        (_without("time"), "time"),
        (_with(time="2026-05-01T12:00:00"), "time"),
        (_with(time="2026-05-01 12:00:00Z"), "time"),
        (_with(time="yesterday"), "time"),
        (_with(time="2026-13-01T12:00:00Z"), "time"),
        (_without("correlationid"), "correlationid"),
        (_with(correlationid="   "), "correlationid"),
        (_with(datacontenttype="text/xml"), "datacontenttype"),
        (_with(data=[1, 2]), "data"),
        (_with(data_base64="AAAA"), "data_base64"),
        (_with(schemaversion="2.0"), "schemaversion"),
        (_with(correlationId="camel"), "correlationId"),
        (_with(correlation_id="snake"), "correlation_id"),
        ([], "envelope"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_malformed_envelope_is_a_data_error_naming_the_attribute(
    envelope: Any, attribute: str
) -> None:
    with pytest.raises(DataError) as raised:
        from_cloudevent(envelope)

    assert raised.value.detail["attribute"] == attribute
    assert attribute in raised.value.message
    assert raised.value.code == "event.malformed_envelope"


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b""])
def test_bytes_that_are_not_json_are_a_data_error_naming_the_envelope(body: bytes) -> None:
    with pytest.raises(DataError) as raised:
        decode(body)

    assert raised.value.detail["attribute"] == "envelope"
