"""API keys with scopes for ``/api/v1``: bearer authentication (401) and scope checks (403)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contractsync.bootstrap import ApiKey
from contractsync.entrypoints.api.problems import ProblemError

PRICING_SCOPE = "pricing:read"
"""The field-level scope: without it, prices in every response are masked."""

SECURITY_SCHEME = "apiKey"
"""The OpenAPI security scheme name of the process API."""

_REALM = 'Bearer realm="contractsync"'

bearer = HTTPBearer(
    auto_error=False,
    scheme_name=SECURITY_SCHEME,
    description="An API key from `api.keys` in contractsync.yaml, sent as "
    "`Authorization: Bearer <key>`. Scopes and role come with the key.",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key that authenticated the request.

    Attributes:
        name: The key id (audit actor ``api:<name>``, idempotency scope).
        role: The key holder's role.
        scopes: What the key may do.
    """

    name: str
    role: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How audit entries name this caller."""
        return f"api:{self.name}"

    @property
    def can_see_prices(self) -> bool:
        """True when the key holds ``pricing:read``."""
        return PRICING_SCOPE in self.scopes


def authenticate(authorization: str | None, keys: Iterable[ApiKey]) -> Principal:
    """The principal of an ``Authorization`` header value.

    The presented secret is hashed once and compared with every configured digest in
    constant time (all of them, whatever matches), so timing tells nothing about which key
    or how much of it was right.

    Raises:
        ProblemError: 401 ``auth.missing`` without a bearer token, ``auth.invalid_key`` when
            no key matches; both carry ``WWW-Authenticate``.
    """
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(
            401,
            "auth.missing",
            "This endpoint needs an API key.",
            remediation="Send `Authorization: Bearer <key>` with a key from api.keys.",
            headers={"WWW-Authenticate": _REALM},
        )
    presented = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
    found: ApiKey | None = None
    for key in keys:
        if hmac.compare_digest(presented, key.secret_sha256):
            found = key
    if found is None:
        raise ProblemError(
            401,
            "auth.invalid_key",
            "The API key is not valid.",
            remediation="Check the key, or ask the operator for one (api.keys).",
            headers={"WWW-Authenticate": f'{_REALM}, error="invalid_token"'},
        )
    return Principal(name=found.name, role=found.role, scopes=found.scopes)


def current_principal(request: Request) -> Principal:
    """The principal the process route authenticated for this request.

    Raises:
        ProblemError: 401, if the request was not authenticated (a route outside the
            process router).
    """
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise ProblemError(
            401,
            "auth.missing",
            "This endpoint needs an API key.",
            remediation="Send `Authorization: Bearer <key>` with a key from api.keys.",
            headers={"WWW-Authenticate": _REALM},
        )
    return principal


def require(*scopes: str) -> Any:
    """A dependency admitting only keys that hold every one of ``scopes``; gives the principal.

    Raises (from the dependency):
        ProblemError: 403 ``auth.scope_missing`` naming the first missing scope.
    """

    def check(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = current_principal(request)
        missing = [scope for scope in scopes if scope not in principal.scopes]
        if missing:
            raise ProblemError(
                403,
                "auth.scope_missing",
                f"This API key lacks the scope {missing[0]}.",
                remediation=f"Use a key whose role grants {', '.join(missing)}.",
            )
        return principal

    return Depends(check)


__all__ = [
    "PRICING_SCOPE",
    "SECURITY_SCHEME",
    "Principal",
    "authenticate",
    "bearer",
    "current_principal",
    "require",
]
