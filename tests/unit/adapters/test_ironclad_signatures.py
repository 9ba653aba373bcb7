"""Ironclad RSA webhook signatures: real keys, rotation, tampering and header allow-lists."""

import base64
import json
from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from contractsync.adapters.signatures import (
    IroncladVerifier,
    SignatureError,
    SignatureFailure,
    WebhookVerifier,
)
from contractsync.adapters.signatures.ironclad import (
    EVENT_ID_HEADER,
    VERIFICATION_HEADER,
    load_public_key,
    sign,
)
from contractsync.errors import ConfigError

EVENT_ID = "evt_611fbd699f4a33b41d9f8295"
NONCE = "b1f0c4a9e2"
BODY = json.dumps(
    {
        "companyID": "605b9829cdd37d296123f4b4",
        "payload": {"event": "workflow_completed", "workflowID": "611fbd699f4a33b41d9f8295"},
        "timestamp": "2022-04-07T21:36:52.776Z",
        "webhookID": "611fb96cb670f852d58db210",
    },
    separators=(",", ":"),
).encode()


def private_key(name: str = "current", bits: int = 2048) -> rsa.RSAPrivateKey:
    return _generated(name, bits)


@cache
def _generated(name: str, bits: int) -> rsa.RSAPrivateKey:
    # Keyed by name so "current", "next" and "attacker" are distinct real keys, made once.
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def verifier(*names: str, **options) -> IroncladVerifier:
    return IroncladVerifier([pem(private_key(name)) for name in names or ["current"]], **options)


def signed(name: str = "current", body: bytes = BODY, **options) -> dict[str, str]:
    return sign(private_key(name), EVENT_ID, body, nonce=NONCE, **options)


def with_verification(headers: dict[str, str], **changes) -> dict[str, str]:
    verification = {**json.loads(headers[VERIFICATION_HEADER]), **changes}
    return {**headers, VERIFICATION_HEADER: json.dumps(verification)}


def rejection(headers, body=BODY, v=None) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        (v or verifier()).verify(headers, body)
    return caught.value


def test_the_signed_data_is_event_id_then_body_then_nonce_with_rsa_sha256():
    verification = json.loads(signed()[VERIFICATION_HEADER])
    assert verification["signAlgorithm"] == "RSA-SHA256"
    assert verification["encoding"] == "base64"
    private_key().public_key().verify(
        base64.b64decode(verification["signature"]),
        EVENT_ID.encode() + BODY + NONCE.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_a_valid_webhook_yields_its_event_id_and_no_timestamp():
    verified = verifier().verify(signed(), BODY)
    assert verified.event_id == EVENT_ID
    assert verified.timestamp is None


def test_the_verifier_satisfies_the_webhook_verifier_port():
    port: WebhookVerifier = verifier()
    assert port.verify(signed(), BODY).event_id == EVENT_ID


def test_headers_are_matched_case_insensitively():
    headers = {name.lower(): value for name, value in signed().items()}
    assert verifier().verify(headers, BODY).event_id == EVENT_ID


@pytest.mark.parametrize("sender", ["current", "next"])
def test_a_receiver_holding_the_old_and_new_keys_accepts_either(sender):
    assert verifier("current", "next").verify(signed(sender), BODY).event_id == EVENT_ID


def test_a_signature_by_a_key_we_do_not_hold_is_rejected():
    assert rejection(signed("attacker")).reason is SignatureFailure.SIGNATURE_INVALID


@pytest.mark.parametrize("index", [0, len(BODY) // 2, len(BODY) - 1])
def test_one_flipped_byte_in_the_body_is_rejected(index):
    body = bytearray(BODY)
    body[index] ^= 0x01
    assert rejection(signed(), bytes(body)).reason is SignatureFailure.SIGNATURE_INVALID


def test_a_changed_event_id_is_rejected():
    headers = {**signed(), EVENT_ID_HEADER: EVENT_ID + "0"}
    assert rejection(headers).reason is SignatureFailure.SIGNATURE_INVALID


def test_a_changed_nonce_is_rejected():
    assert rejection(with_verification(signed(), nonce="other")).code == "webhook.signature_invalid"


def test_pretty_printed_json_is_rejected_because_the_compact_bytes_were_signed():
    pretty = json.dumps(json.loads(BODY), indent=2).encode()
    assert rejection(signed(), pretty).reason is SignatureFailure.SIGNATURE_INVALID


@pytest.mark.parametrize("header", [EVENT_ID_HEADER, VERIFICATION_HEADER])
def test_each_missing_header_is_named(header):
    headers = signed()
    del headers[header]
    error = rejection(headers)
    assert error.reason is SignatureFailure.HEADERS_MISSING
    assert error.detail["headers"] == [header]


@pytest.mark.parametrize(
    "value", ["not json", "[1, 2]", json.dumps({"nonce": NONCE}), json.dumps({"signature": "x"})]
)
def test_a_verification_header_that_is_not_the_expected_json_object_is_malformed(value):
    error = rejection({**signed(), VERIFICATION_HEADER: value})
    assert error.reason is SignatureFailure.HEADERS_MALFORMED


def test_an_algorithm_outside_the_allow_list_is_refused_not_trusted():
    error = rejection(with_verification(signed(), signAlgorithm="RSA-MD5"))
    assert error.reason is SignatureFailure.HEADERS_MALFORMED
    assert "RSA-MD5" in error.message


def test_an_encoding_outside_the_allow_list_is_refused():
    verifier_ = verifier(encodings=("base64",))
    error = rejection(with_verification(signed(), encoding="hex"), v=verifier_)
    assert error.reason is SignatureFailure.HEADERS_MALFORMED


def test_a_hex_encoded_signature_is_accepted_when_hex_is_allowed():
    headers = signed()
    raw = base64.b64decode(json.loads(headers[VERIFICATION_HEADER])["signature"])
    hex_headers = with_verification(headers, signature=raw.hex(), encoding="hex")
    assert verifier().verify(hex_headers, BODY).event_id == EVENT_ID


def test_missing_algorithm_and_encoding_fall_back_to_the_documented_defaults():
    verification = json.loads(signed()[VERIFICATION_HEADER])
    minimal = {"nonce": verification["nonce"], "signature": verification["signature"]}
    headers = {EVENT_ID_HEADER: EVENT_ID, VERIFICATION_HEADER: json.dumps(minimal)}
    assert verifier().verify(headers, BODY).event_id == EVENT_ID


def test_an_undecodable_signature_is_an_invalid_signature():
    error = rejection(with_verification(signed(), signature="@@@"))
    assert error.reason is SignatureFailure.SIGNATURE_INVALID


def test_pss_padding_is_available_when_configured():
    headers = signed(rsa_padding="pss")
    assert verifier(rsa_padding="pss").verify(headers, BODY).event_id == EVENT_ID
    assert rejection(headers).reason is SignatureFailure.SIGNATURE_INVALID


def test_custom_header_names_are_honoured():
    headers = signed()
    renamed = {"X-Event": headers[EVENT_ID_HEADER], "X-Verify": headers[VERIFICATION_HEADER]}
    custom = verifier(event_id_header="X-Event", verification_header="X-Verify")
    assert custom.verify(renamed, BODY).event_id == EVENT_ID


def test_the_error_never_leaks_the_received_signature():
    headers = signed("attacker")
    error = rejection(headers)
    signature = json.loads(headers[VERIFICATION_HEADER])["signature"]
    assert signature not in json.dumps(error.as_dict())


def test_a_key_shorter_than_2048_bits_is_refused_at_configuration():
    with pytest.raises(ConfigError) as caught:
        load_public_key(pem(private_key("weak", 1024)))
    assert caught.value.code == "config.webhook_secret_weak"


@pytest.mark.parametrize(
    "key",
    ["not a pem", pem(ec.generate_private_key(ec.SECP256R1()))],
    ids=["garbage", "ec-key"],
)
def test_text_that_is_not_an_rsa_public_key_is_refused(key):
    with pytest.raises(ConfigError):
        IroncladVerifier([key])


def test_a_verifier_without_keys_is_refused():
    with pytest.raises(ConfigError):
        IroncladVerifier([])


@settings(max_examples=40)
@given(index=st.integers(min_value=0, max_value=len(BODY) - 1), mask=st.integers(1, 255))
def test_any_single_byte_mutation_of_a_signed_body_is_rejected(index, mask):
    body = bytearray(BODY)
    body[index] ^= mask
    with pytest.raises(SignatureError):
        verifier().verify(signed(), bytes(body))
