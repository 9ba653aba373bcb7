"""classify_response: every status lands on the error class that says what happens next."""

import json
import pickle
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from contractsync.adapters.http import classify_response, parse_retry_after, safe_excerpt
from contractsync.errors import (
    ConfigError,
    ConflictError,
    ContractSyncError,
    DataError,
    RejectedError,
    TransientError,
)

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def clock() -> float:
    return NOW


def response(status: int, *, headers=None, body: bytes = b"", url: str | None = None):
    request = httpx.Request("POST", url or "https://erp.example.com/record/v1/customer?token=abc")
    return httpx.Response(status, headers=headers, content=body, request=request)


def classified(status: int, **kwargs):
    with pytest.raises(ContractSyncError) as caught:
        classify_response(
            response(status, **kwargs.pop("r", {})), system="netsuite", clock=clock, **kwargs
        )
    return caught.value


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_a_2xx_response_is_returned_unchanged(status):
    ok = response(status)
    assert classify_response(ok, system="netsuite") is ok


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (408, TransientError, "remote.timeout"),
        (425, TransientError, "remote.too_early"),
        (429, TransientError, "remote.rate_limited"),
        (500, TransientError, "remote.unavailable"),
        (502, TransientError, "remote.unavailable"),
        (503, TransientError, "remote.unavailable"),
        (504, TransientError, "remote.unavailable"),
        (599, TransientError, "remote.unavailable"),
        (501, RejectedError, "remote.not_implemented"),
        (409, ConflictError, "remote.conflict"),
        (412, ConflictError, "remote.precondition_failed"),
        (400, DataError, "remote.bad_request"),
        (404, DataError, "remote.not_found"),
        (422, DataError, "remote.unprocessable"),
        (401, ConfigError, "remote.unauthorized"),
        (403, ConfigError, "remote.forbidden"),
        (300, RejectedError, "remote.rejected"),
        (405, RejectedError, "remote.rejected"),
        (410, RejectedError, "remote.rejected"),
        (413, RejectedError, "remote.rejected"),
        (451, RejectedError, "remote.rejected"),
    ],
)
def test_each_status_maps_to_the_error_that_names_the_next_action(status, error_class, code):
    error = classified(status)
    assert type(error) is error_class
    assert error.code == code
    assert error.detail["system"] == "netsuite"
    assert error.detail["status"] == status
    assert "netsuite" in error.message
    assert error.remediation


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"Retry-After": "Thu, 01 Jan 2026 00:02:00 GMT"}, 120.0),
        ({"Retry-After": "Wed, 31 Dec 2025 23:59:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
    ],
)
def test_a_429_carries_retry_after_from_seconds_or_an_http_date(headers, retry_after):
    error = classified(429, r={"headers": headers})
    assert isinstance(error, TransientError)
    assert error.retry_after == retry_after


def test_an_asctime_date_without_a_zone_is_read_as_gmt():
    assert parse_retry_after("Thu Jan  1 00:02:00 2026", now=NOW) == 120.0


def test_an_http_date_built_by_the_stdlib_round_trips():
    when = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    assert parse_retry_after(when, now=NOW) == 30.0


@pytest.mark.parametrize("value", [None, "", "   ", "nan", "inf", "Thursday"])
def test_unreadable_retry_after_values_are_ignored(value):
    assert parse_retry_after(value, now=NOW) is None


def test_a_503_with_retry_after_is_transient_and_honours_it():
    error = classified(503, r={"headers": {"Retry-After": "30"}})
    assert isinstance(error, TransientError)
    assert error.retry_after == 30.0
    assert "30 s" in error.remediation


def test_a_vendor_hint_is_used_when_there_is_no_retry_after_header():
    assert classified(429, retry_after=42.0).retry_after == 42.0


def test_the_longer_of_the_vendor_hint_and_retry_after_wins():
    assert (
        classified(429, r={"headers": {"Retry-After": "10"}}, retry_after=3.0).retry_after == 10.0
    )
    assert (
        classified(429, r={"headers": {"Retry-After": "10"}}, retry_after=60.0).retry_after == 60.0
    )


def test_a_salesforce_403_request_limit_exceeded_flagged_by_the_adapter_is_transient():
    body = b'[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]'
    error = classified(
        403, r={"body": body}, is_rate_limited=True, vendor_code="REQUEST_LIMIT_EXCEEDED"
    )
    assert isinstance(error, TransientError)
    assert error.code == "remote.rate_limited"
    assert error.detail["vendor_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "TotalRequests" in error.detail["body_excerpt"]


def test_an_unflagged_403_is_a_configuration_error():
    assert isinstance(classified(403), ConfigError)


def test_the_error_keeps_method_and_url_but_drops_the_query_string():
    error = classified(400)
    assert error.detail["method"] == "POST"
    assert error.detail["url"] == "https://erp.example.com/record/v1/customer"
    assert "token" not in json.dumps(error.as_dict())


def test_the_body_excerpt_never_contains_secrets_or_tokens():
    body = json.dumps(
        {
            "error": "invalid_client",
            "client_secret": "s3cr3t-value",
            "access_token": "at-123456",
            "expires_in": 3600,
            "echo": "Authorization: Bearer abc.def.ghi",
            "assertion": "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl",
        }
    ).encode()
    error = classified(401, r={"body": body})
    text = json.dumps(error.as_dict())
    for secret in ("s3cr3t-value", "at-123456", "abc.def.ghi", "eyJhbGciOiJSUzI1NiJ9"):
        assert secret not in text
    assert "invalid_client" in error.detail["body_excerpt"]
    assert "client_secret" in error.detail["body_excerpt"]


def test_form_encoded_credentials_are_redacted_too():
    excerpt = safe_excerpt("grant_type=password&password=hunter2&username=ops")
    assert "hunter2" not in excerpt
    assert "username=ops" in excerpt


def test_a_long_body_is_cut_to_a_short_excerpt():
    excerpt = safe_excerpt(b"x" * 10_000)
    assert len(excerpt) == 300
    assert excerpt.endswith("…")


def test_a_secret_longer_than_the_excerpt_is_redacted_before_the_cut():
    excerpt = safe_excerpt('{"refresh_token": "' + "r" * 5000 + '"}')
    assert "rrrr" not in excerpt


def test_a_response_without_a_request_is_still_classified():
    with pytest.raises(DataError) as caught:
        classify_response(httpx.Response(422, json={"o:errorDetails": []}), system="netsuite")
    assert "url" not in caught.value.detail


def test_classified_errors_survive_pickling():
    error = classified(429, r={"headers": {"Retry-After": "5"}})
    copy = pickle.loads(pickle.dumps(error))
    assert copy.as_dict() == error.as_dict()
    assert copy.retry_after == 5.0
