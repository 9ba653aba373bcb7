"""DocuSign Connect HMAC: numbered headers, key rotation, tampering and the event-id dedupe key."""

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contractsync.adapters.signatures import (
    DocuSignConnectVerifier,
    SignatureError,
    SignatureFailure,
    WebhookVerifier,
)
from contractsync.adapters.signatures.docusign_connect import connect_event_id, sign
from contractsync.errors import ConfigError, DataError

KEY = "yH3kq1rZ0pXb7uC9vT2nL5mW8aE4sD6fG1hJ0kQ3z+8="
NEW_KEY = "Pq9sT2vX5zA8cE1gI4kM7oQ0sU3wY6aC9eG2iK5mO8q="
MESSAGE = {
    "event": "envelope-completed",
    "apiVersion": "v2.1",
    "retryCount": 0,
    "configurationId": 10140648,
    "generatedDateTime": "2026-04-29T19:00:00.0000000Z",
    "data": {"accountId": "adbce049", "envelopeId": "93be49ab-afa0", "envelopeSummary": {}},
}
# DocuSign signs the body "including line endings", so the fixture keeps a CRLF in it.
BODY = json.dumps(MESSAGE, indent=2).replace("\n", "\r\n", 1).encode()


def verifier(*keys: str) -> DocuSignConnectVerifier:
    return DocuSignConnectVerifier(list(keys or [KEY]))


def rejection(headers, body=BODY, v=None) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        (v or verifier()).verify(headers, body)
    return caught.value


def test_the_signature_is_base64_hmac_sha256_of_the_raw_body_under_the_utf8_key():
    expected = base64.b64encode(hmac.new(KEY.encode(), BODY, hashlib.sha256).digest()).decode()
    assert sign(KEY, BODY) == {"X-DocuSign-Signature-1": expected}


def test_a_valid_message_is_accepted_without_a_timestamp():
    verified = verifier().verify(sign(KEY, BODY), BODY)
    assert verified.timestamp is None
    assert verified.event_id == "93be49ab-afa0:envelope-completed:2026-04-29T19:00:00.0000000Z"


def test_the_verifier_satisfies_the_webhook_verifier_port():
    port: WebhookVerifier = verifier()
    assert port.verify(sign(KEY, BODY), BODY).timestamp is None


def test_a_second_numbered_header_matching_our_key_is_accepted():
    headers = sign([NEW_KEY, KEY], BODY)
    assert list(headers) == ["X-DocuSign-Signature-1", "X-DocuSign-Signature-2"]
    assert verifier(KEY).verify(headers, BODY).event_id.startswith("93be49ab")


def test_numbered_headers_with_gaps_are_still_found():
    headers = {"X-DocuSign-Signature-7": sign(KEY, BODY)["X-DocuSign-Signature-1"]}
    assert verifier().verify(headers, BODY).timestamp is None


def test_headers_are_matched_case_insensitively():
    headers = {"x-docusign-signature-1": sign(KEY, BODY)["X-DocuSign-Signature-1"]}
    assert verifier().verify(headers, BODY).timestamp is None


@pytest.mark.parametrize("sender_key", [KEY, NEW_KEY])
def test_a_receiver_with_two_keys_accepts_either(sender_key):
    assert verifier(KEY, NEW_KEY).verify(sign(sender_key, BODY), BODY).timestamp is None


@pytest.mark.parametrize("index", [0, 1, len(BODY) // 2, len(BODY) - 1])
def test_one_flipped_byte_in_the_body_is_rejected(index):
    body = bytearray(BODY)
    body[index] ^= 0x01
    assert rejection(sign(KEY, BODY), bytes(body)).reason is SignatureFailure.SIGNATURE_INVALID


def test_a_changed_line_ending_is_rejected():
    body = BODY.replace(b"\r\n", b"\n", 1)
    assert rejection(sign(KEY, BODY), body).reason is SignatureFailure.SIGNATURE_INVALID


def test_a_signature_made_with_an_unknown_key_is_rejected():
    error = rejection(sign(NEW_KEY, BODY))
    assert error.code == "webhook.signature_invalid"
    assert error.detail["signatures_received"] == 1


def test_a_message_without_any_signature_header_is_rejected_as_missing_headers():
    error = rejection({"Content-Type": "application/json"})
    assert error.reason is SignatureFailure.HEADERS_MISSING
    assert "X-DocuSign-Signature-1" in error.message


def test_a_signature_header_that_is_not_base64_is_rejected():
    assert rejection({"X-DocuSign-Signature-1": "***"}).reason is SignatureFailure.SIGNATURE_INVALID


def test_the_error_never_leaks_a_key_or_the_expected_signature():
    error = rejection(sign(NEW_KEY, BODY))
    text = json.dumps(error.as_dict())
    assert KEY not in text
    assert sign(KEY, BODY)["X-DocuSign-Signature-1"] not in text


def test_a_redelivery_with_a_higher_retry_count_keeps_the_same_event_id():
    again = json.dumps({**MESSAGE, "retryCount": 3}).encode()
    assert connect_event_id(again) == connect_event_id(BODY)


def test_recipient_events_include_the_recipient_in_the_event_id():
    message = {**MESSAGE, "event": "recipient-completed"}
    message["data"] = {**MESSAGE["data"], "recipientId": "2"}
    assert connect_event_id(json.dumps(message).encode()).split(":")[:3] == [
        "93be49ab-afa0",
        "recipient-completed",
        "2",
    ]


@pytest.mark.parametrize("body", [b"<DocuSignEnvelopeInformation/>", b'{"event": "x"}', b"[]"])
def test_an_authentic_body_without_an_event_id_is_a_data_error(body):
    with pytest.raises(DataError) as caught:
        verifier().verify(sign(KEY, body), body)
    assert caught.value.code == "webhook.event_id_missing"


@pytest.mark.parametrize("keys", [[], ["short"], [KEY] * 101])
def test_an_empty_short_or_oversized_key_set_is_refused_at_configuration(keys):
    with pytest.raises(ConfigError):
        DocuSignConnectVerifier(keys)


@given(index=st.integers(min_value=0, max_value=len(BODY) - 1), mask=st.integers(1, 255))
def test_any_single_byte_mutation_of_a_signed_body_is_rejected(index, mask):
    body = bytearray(BODY)
    body[index] ^= mask
    with pytest.raises(SignatureError):
        verifier().verify(sign(KEY, BODY), bytes(body))
