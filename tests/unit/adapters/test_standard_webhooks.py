"""Standard Webhooks v1: the S6 forgery and replay matrix, rotation, and secret strength."""

import base64
import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contractsync.adapters.signatures import SignatureError, SignatureFailure, WebhookVerifier
from contractsync.adapters.signatures.standard_webhooks import (
    StandardWebhooksVerifier,
    generate_secret,
    parse_secret,
    sign,
)
from contractsync.errors import ConfigError, RejectedError

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
BODY = b'{"type":"contract.approved","data":{"contract_id":"C-1","amount":"120000.00"}}'
MSG_ID = "msg_2mT8lXhU0n9rJ1"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def verifier(*secrets: str, clock: Clock | None = None) -> StandardWebhooksVerifier:
    return StandardWebhooksVerifier(list(secrets or [SECRET]), clock=clock or Clock())


def signed(timestamp: int = NOW, body: bytes = BODY, secret: str | list[str] = SECRET):
    return sign(secret, MSG_ID, timestamp, body)


def rejection(headers, body=BODY, v=None) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        (v or verifier()).verify(headers, body)
    return caught.value


def flip(value: str, index: int = 0) -> str:
    return value[:index] + chr(ord(value[index]) ^ 1) + value[index + 1 :]


def test_a_valid_delivery_yields_its_id_and_timestamp():
    verified = verifier().verify(signed(), BODY)
    assert verified.event_id == MSG_ID
    assert verified.timestamp is not None
    assert int(verified.timestamp.timestamp()) == NOW


def test_the_verifier_satisfies_the_webhook_verifier_port():
    port: WebhookVerifier = verifier()
    assert port.verify(signed(), BODY).event_id == MSG_ID


def test_headers_are_matched_case_insensitively():
    headers = {name.upper(): value for name, value in signed().items()}
    assert verifier().verify(headers, BODY).event_id == MSG_ID


def test_the_signed_content_is_id_dot_timestamp_dot_body_per_the_spec():
    # The spec's own example: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, msg_p5jXN8AQM9LWM0D4loKWxJek,
    # timestamp 1614265330, body {"test": 2432232314} -> v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
    headers = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("index", [0, len(BODY) // 2, len(BODY) - 1])
def test_one_flipped_byte_in_the_body_is_rejected(index):
    body = bytearray(BODY)
    body[index] ^= 0x01
    error = rejection(signed(), bytes(body))
    assert error.reason is SignatureFailure.SIGNATURE_INVALID
    assert error.code == "webhook.signature_invalid"


def test_one_flipped_byte_in_the_webhook_id_is_rejected():
    headers = signed()
    headers["webhook-id"] = flip(headers["webhook-id"], 4)
    assert rejection(headers).reason is SignatureFailure.SIGNATURE_INVALID


def test_one_flipped_byte_in_the_timestamp_is_rejected():
    headers = signed()
    headers["webhook-timestamp"] = flip(headers["webhook-timestamp"], len(str(NOW)) - 1)
    assert rejection(headers).reason is SignatureFailure.SIGNATURE_INVALID


def test_a_timestamp_that_is_not_digits_is_a_malformed_header():
    headers = signed()
    headers["webhook-timestamp"] = "+" + headers["webhook-timestamp"]
    error = rejection(headers)
    assert error.reason is SignatureFailure.HEADERS_MALFORMED
    assert error.detail["headers"] == ["webhook-timestamp"]


def test_a_signature_made_with_the_wrong_secret_is_rejected():
    assert rejection(signed(secret=OTHER_SECRET)).reason is SignatureFailure.SIGNATURE_INVALID


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_named(header):
    headers = signed()
    del headers[header]
    error = rejection(headers)
    assert error.reason is SignatureFailure.HEADERS_MISSING
    assert error.code == "webhook.headers_missing"
    assert error.detail["headers"] == [header]
    assert header in error.message


def test_an_empty_header_counts_as_missing():
    headers = signed()
    headers["webhook-signature"] = ""
    assert rejection(headers).reason is SignatureFailure.HEADERS_MISSING


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_beyond_five_minutes_either_way_is_rejected(offset):
    error = rejection(signed(timestamp=NOW + offset))
    assert error.reason is SignatureFailure.TIMESTAMP_OUT_OF_TOLERANCE
    assert error.code == "webhook.timestamp_out_of_tolerance"
    assert error.detail["offset_seconds"] == offset


@pytest.mark.parametrize("offset", [-300, -299, 299, 300])
def test_a_timestamp_within_five_minutes_either_way_is_accepted(offset):
    assert verifier().verify(signed(timestamp=NOW + offset), BODY).event_id == MSG_ID


def test_a_valid_request_replayed_six_minutes_later_is_rejected():
    clock = Clock()
    receiver = verifier(clock=clock)
    headers = signed()
    receiver.verify(headers, BODY)
    clock.now += 360
    with pytest.raises(SignatureError) as caught:
        receiver.verify(headers, BODY)
    assert caught.value.reason is SignatureFailure.TIMESTAMP_OUT_OF_TOLERANCE


def test_a_forged_stale_request_reports_the_signature_not_the_clock():
    error = rejection(signed(timestamp=NOW - 3600, secret=OTHER_SECRET))
    assert error.reason is SignatureFailure.SIGNATURE_INVALID


def test_a_v1a_only_signature_is_rejected_when_only_v1_is_configured():
    headers = signed()
    headers["webhook-signature"] = "v1a," + base64.b64encode(b"\x00" * 64).decode()
    error = rejection(headers)
    assert error.reason is SignatureFailure.SIGNATURE_INVALID
    assert "no v1 signature" in error.message


def test_other_versions_beside_a_valid_v1_are_ignored():
    headers = signed()
    headers["webhook-signature"] = "v1a,AAAA v2,zzz " + headers["webhook-signature"]
    assert verifier().verify(headers, BODY).event_id == MSG_ID


def test_undecodable_v1_entries_are_skipped_not_fatal():
    headers = signed()
    headers["webhook-signature"] = "v1,not*base64 " + headers["webhook-signature"]
    assert verifier().verify(headers, BODY).event_id == MSG_ID


def test_json_reserialised_with_other_whitespace_is_rejected():
    reserialised = json.dumps(json.loads(BODY), indent=1).encode()
    assert json.loads(reserialised) == json.loads(BODY)
    assert rejection(signed(), reserialised).reason is SignatureFailure.SIGNATURE_INVALID


def test_a_rotating_sender_is_accepted_by_a_receiver_that_knows_only_the_old_key():
    headers = signed(secret=[SECRET, OTHER_SECRET])
    assert len(headers["webhook-signature"].split()) == 2
    assert verifier(SECRET).verify(headers, BODY).event_id == MSG_ID


def test_a_rotating_sender_is_accepted_by_a_receiver_that_knows_only_the_new_key():
    headers = signed(secret=[SECRET, OTHER_SECRET])
    assert verifier(OTHER_SECRET).verify(headers, BODY).event_id == MSG_ID


@pytest.mark.parametrize("sender_secret", [SECRET, OTHER_SECRET])
def test_a_receiver_with_two_keys_accepts_either(sender_secret):
    receiver = verifier(SECRET, OTHER_SECRET)
    assert receiver.verify(signed(secret=sender_secret), BODY).event_id == MSG_ID


def test_a_secret_shorter_than_24_bytes_is_refused_at_configuration():
    weak = "whsec_" + base64.b64encode(b"x" * 23).decode()
    with pytest.raises(ConfigError) as caught:
        StandardWebhooksVerifier([weak])
    assert caught.value.code == "config.webhook_secret_weak"
    assert weak not in str(caught.value.as_dict())


def test_a_secret_of_exactly_24_bytes_is_accepted():
    assert len(parse_secret("whsec_" + base64.b64encode(b"k" * 24).decode())) == 24


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_" + "A" * 120],
)
def test_a_secret_without_prefix_bad_base64_or_too_long_is_refused(secret):
    with pytest.raises(ConfigError):
        parse_secret(secret)


def test_a_verifier_without_secrets_is_refused():
    with pytest.raises(ConfigError):
        StandardWebhooksVerifier([])


def test_generated_secrets_are_strong_and_distinct():
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert len(parse_secret(first)) == 32


def test_the_error_never_leaks_the_expected_or_received_signature():
    headers = signed(secret=OTHER_SECRET)
    error = rejection(headers)
    expected = signed()["webhook-signature"]
    text = json.dumps(error.as_dict()) + str(error)
    for secret_text in (expected[3:], headers["webhook-signature"][3:], SECRET[6:]):
        assert secret_text not in text


def test_a_signature_error_is_a_picklable_rejection():
    error = rejection(signed(secret=OTHER_SECRET))
    assert isinstance(error, RejectedError)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.as_dict() == error.as_dict()
    assert copy.reason is SignatureFailure.SIGNATURE_INVALID


def test_signing_with_an_aware_datetime_matches_signing_with_seconds():
    from datetime import UTC, datetime

    assert sign(SECRET, MSG_ID, datetime.fromtimestamp(NOW, UTC), BODY) == signed()


@given(index=st.integers(min_value=0, max_value=len(BODY) - 1), mask=st.integers(1, 255))
def test_any_single_byte_mutation_of_a_signed_body_is_rejected(index, mask):
    body = bytearray(BODY)
    body[index] ^= mask
    with pytest.raises(SignatureError):
        verifier().verify(signed(), bytes(body))
