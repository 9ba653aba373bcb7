"""DocuSign envelopes and Connect messages <-> signing requests, against payload fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contractsync.adapters.docusign.mapping import (
    custom_fields_for,
    signature_request_from_envelope,
)
from contractsync.adapters.docusign.payloads import CustomFields, Envelope, instant
from contractsync.adapters.docusign.webhooks import read_event, read_event_body
from contractsync.errors import DataError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "docusign"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_a_completed_envelope_names_its_contract_and_completion() -> None:
    envelope = Envelope.model_validate(fixture("envelope_completed.json"))
    found = signature_request_from_envelope(
        envelope, system="docusign", contract_field="contractId"
    )
    assert str(found.ref) == "docusign:envelope:93be49ab-afa0-4adf-933c-f752070d71ec"
    assert found.contract_id == "SOW-2025-0142"
    assert found.status == "completed"
    assert found.completed_at == datetime(2026, 4, 29, 19, 0, tzinfo=UTC)


def test_an_envelope_without_the_contract_field_is_a_data_error_naming_it() -> None:
    envelope = Envelope.model_validate(fixture("envelope_sent_without_contract.json"))
    with pytest.raises(DataError) as caught:
        signature_request_from_envelope(envelope, system="docusign", contract_field="contractId")
    assert caught.value.code == "docusign.contract_field_missing"
    assert caught.value.detail["field"] == "contractId"


def test_another_field_name_is_configurable() -> None:
    envelope = Envelope.model_validate(fixture("envelope_sent_without_contract.json"))
    found = signature_request_from_envelope(
        envelope, system="docusign", contract_field="opportunityId"
    )
    assert (found.contract_id, found.status, found.completed_at) == (
        "0065g00000XyZ99AAB",
        "sent",
        None,
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("created", "sent"),
        ("sent", "sent"),
        ("Delivered", "delivered"),
        ("declined", "declined"),
        ("voided", "voided"),
        ("completed", "completed"),
    ],
)
def test_envelope_statuses_map_to_signature_statuses(status: str, expected: str) -> None:
    raw = {**fixture("envelope_completed.json"), "status": status}
    found = signature_request_from_envelope(
        Envelope.model_validate(raw), system="d", contract_field="contractId"
    )
    assert found.status == expected
    assert (found.completed_at is not None) == (expected == "completed")


def test_an_unknown_status_is_a_data_error() -> None:
    raw = {**fixture("envelope_completed.json"), "status": "correct"}
    with pytest.raises(DataError):
        signature_request_from_envelope(
            Envelope.model_validate(raw), system="d", contract_field="contractId"
        )


def test_custom_fields_written_for_a_contract_read_back() -> None:
    written = custom_fields_for("SOW-9", contract_field="contractId")
    assert CustomFields.model_validate(written).value_of("contractId") == "SOW-9"


def test_seven_digit_fractions_read_as_instants() -> None:
    assert instant("2026-04-29T18:41:12.5530000Z") == datetime(
        2026, 4, 29, 18, 41, 12, 553000, tzinfo=UTC
    )


def test_the_documented_connect_message_reads_as_a_completion() -> None:
    event = read_event(fixture("connect_envelope_completed.json"), event_id="e1")
    assert event.is_completed
    assert event.contract_id == "SOW-2025-0142"
    assert event.envelope.id == "93be49ab-afa0-4adf-933c-f752070d71ec"
    assert event.completed_at == datetime(2026, 4, 29, 19, 0, tzinfo=UTC)
    assert event.retry_count == 0


def test_a_message_without_summary_leaves_the_contract_to_a_fetch() -> None:
    raw = fixture("connect_envelope_completed.json")
    raw["data"].pop("envelopeSummary")
    raw["configurationId"] = "10140648"  # a string in some fixtures: read leniently
    event = read_event(raw, event_id="e1")
    assert event.contract_id is None
    assert event.completed_at is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            b'{"event": "recipient-completed", "data": {"envelopeId": "x"}}',
            "docusign.event_unsupported",
        ),
        (b'{"event": "envelope-completed", "data": {}}', "docusign.event_invalid"),
        (b'{"event": "envelope-completed"}', "docusign.event_invalid"),
        (b"<xml/>", "docusign.event_invalid"),
    ],
)
def test_unreadable_messages_are_data_errors(body: bytes, code: str) -> None:
    with pytest.raises(DataError) as caught:
        read_event_body(body, event_id="e1")
    assert caught.value.code == code
