"""RFC 9457 problem+json: every error the API answers, with a stable code and a remediation."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from contractsync.adapters.signatures import SignatureError
from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ConflictError,
    ContractSyncError,
    DataError,
    DomainError,
    RejectedError,
    TransientError,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:contractsync:problem:"
DEFAULT_RETRY_AFTER_SECONDS = 5

_log = logging.getLogger(__name__)

# DataError codes whose fault is the request's syntax or size rather than its meaning.
_STATUS_OF_DATA_CODE = {
    "webhook.body_malformed": 400,
}

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldProblem(BaseModel):
    """One invalid input field."""

    field: str = Field(description="Where the field is: body.x, query.limit, path.source ...")
    message: str
    type: str = Field(description="The validation rule that failed.")


class Problem(BaseModel):
    """An RFC 9457 problem detail, extended with a stable code and a remediation."""

    type: str = Field(description="urn:contractsync:problem:<code>", examples=[TYPE_PREFIX + "x"])
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this occurrence; safe to show.")
    instance: str = Field(description="The request path this occurrence concerns.")
    code: str = Field(description="The stable machine code.")
    remediation: str = Field(description="What to do next.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Each invalid field, for validation problems."
    )


class ProblemError(Exception):
    """An HTTP-level refusal a route raises (unknown source, body too large ...).

    Args:
        status: The HTTP status.
        code: The stable machine code.
        detail: What is wrong, safe to show.
        remediation: What to do next.
        headers: Extra response headers.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        remediation: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.remediation = remediation
        self.headers = dict(headers or {})


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    remediation: str,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldProblem] | None = None,
) -> JSONResponse:
    """Build the ``application/problem+json`` response for one problem."""
    problem = Problem(
        type=TYPE_PREFIX + code,
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path,
        code=code,
        remediation=remediation,
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def status_of(error: ContractSyncError, *, path: str) -> int:
    """The HTTP status for ``error`` (a webhook's rejection is 401, elsewhere it is 422)."""
    if isinstance(error, SignatureError):
        return 401
    if isinstance(error, RejectedError):
        return 401 if path.startswith("/webhooks/") else 422
    if isinstance(error, DataError):
        return _STATUS_OF_DATA_CODE.get(error.code, 422)
    if isinstance(error, DomainError):
        return 422
    if isinstance(error, ConflictError):
        return 409
    if isinstance(error, TransientError | AmbiguousCommitError):
        return 503
    return 500


async def _contractsync_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContractSyncError)
    status = status_of(exc, path=request.url.path)
    headers: dict[str, str] = {}
    if status == 503:
        retry_after = getattr(exc, "retry_after", None) or DEFAULT_RETRY_AFTER_SECONDS
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if status == 500 or isinstance(exc, ConfigError):
        # Settings and internals are for the operator's log, never for the caller.
        _log.error("configuration problem answered 500: %s", exc)
        return problem_response(
            request,
            status=500,
            code="server.misconfigured",
            detail="The server cannot handle this request until an operator fixes its setup.",
            remediation="Retry later; if it persists, tell the operator of this hub.",
        )
    return problem_response(
        request,
        status=status,
        code=exc.code,
        detail=exc.message,
        remediation=exc.remediation,
        headers=headers,
    )


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        remediation=exc.remediation,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldProblem(
            field=".".join(str(part) for part in error.get("loc", ())),
            message=str(error.get("msg", "invalid")),
            type=str(error.get("type", "value_error")),
        )
        for error in exc.errors()
    ]
    names = ", ".join(problem.field for problem in errors)
    return problem_response(
        request,
        status=422,
        code="request.invalid",
        detail=f"The request has invalid field(s): {names}.",
        remediation="Correct each field listed in 'errors' and send the request again.",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "http.not_found", 405: "http.method_not_allowed", 413: "http.too_large"}
    details = {
        404: f"Nothing is served at {request.url.path}.",
        405: f"{request.method} is not allowed on {request.url.path}.",
    }
    return problem_response(
        request,
        status=exc.status_code,
        code=codes.get(exc.status_code, f"http.{exc.status_code}"),
        detail=details.get(exc.status_code, str(exc.detail)),
        remediation="Check the method and path against /openapi.json.",
        headers=exc.headers,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="server.internal_error",
        detail="The server failed to handle this request.",
        remediation="Retry later; if it persists, tell the operator of this hub.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error ``app`` answers a problem+json document."""
    app.add_exception_handler(ContractSyncError, _contractsync_error)
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting ``statuses`` as problem+json."""
    return {
        status: {"model": Problem, "description": _TITLES.get(status, "Error") + " (problem+json)"}
        for status in statuses
    }


def not_found(kind: str, record_id: str) -> ProblemError:
    """The 404 problem for a ``kind`` record the hub does not hold (code ``<kind>.not_found``)."""
    return ProblemError(
        404,
        f"{kind}.not_found",
        f"There is no {kind.replace('_', ' ')} {record_id}.",
        remediation=f"List the {kind.replace('_', ' ')}s and use one of their ids.",
    )


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldProblem",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "not_found",
    "problem_response",
    "problem_responses",
    "status_of",
]
