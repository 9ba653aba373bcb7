"""NetSuite REST wire shapes: RFC 7807 problems with ``o:errorDetails``, collection pages, URLs.

Error body (``reference/vendors.md`` §4.3)::

    {"type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
     "title": "Bad Request", "status": 400,
     "o:errorDetails": [{"detail": "...", "o:errorCode": "INVALID_CONTENT",
                         "o:errorPath": "item.items[0].item"}]}

Collection page (§4.1): ``{"links", "count", "hasMore", "items": [{"links", "id"}],
"offset", "totalResults"}`` with ``self``/``first``/``prev``/``next``/``last`` links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

REST_ROOT = "/services/rest"
RECORD_ROOT = f"{REST_ROOT}/record/v1"
ASYNC_ROOT = f"{REST_ROOT}/async/v1"
TOKEN_PATH = f"{REST_ROOT}/auth/oauth2/v1/token"
DEFAULT_LIMIT = 1000
"""Page size when ``limit`` is not given (NetSuite: 1000, also the maximum)."""

_RFC2616 = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_STATUS: dict[int, tuple[str, str]] = {
    400: (f"{_RFC2616}#sec10.4.1", "Bad Request"),
    401: (f"{_RFC2616}#sec10.4.2", "Unauthorized"),
    403: (f"{_RFC2616}#sec10.4.4", "Forbidden"),
    404: (f"{_RFC2616}#sec10.4.5", "Not Found"),
    405: (f"{_RFC2616}#sec10.4.6", "Method Not Allowed"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
    500: (f"{_RFC2616}#sec10.5.1", "Internal Server Error"),
    503: (f"{_RFC2616}#sec10.5.4", "Service Unavailable"),
}


class NetSuiteFault(Exception):  # noqa: N818 - named like the vendor's fault, carried as a value
    """A refusal in NetSuite's shape; raised inside the simulator, rendered by the routes.

    Args:
        status: The HTTP status.
        code: The ``o:errorCode``.
        detail: The human ``detail`` text.
        path: The ``o:errorPath`` (a field path in the request body), if any.
        title: Overrides the status's standard title (the idempotency conflict says "Conflict").
        headers: Extra response headers (``Location`` of a previous job, ``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        path: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.headers = dict(headers or {})
        self.body = problem(status, code, detail, path=path, title=title)


def problem(
    status: int, code: str, detail: str, *, path: str | None = None, title: str | None = None
) -> dict[str, Any]:
    """The RFC 7807-like body NetSuite answers a refused request with.

    Args:
        status: The HTTP status (its RFC 2616 section becomes ``type``).
        code: The ``o:errorCode``.
        detail: The message.
        path: The ``o:errorPath``, when a body field is at fault.
        title: The title, if not the status's standard one.

    Returns:
        The JSON-ready body.
    """
    kind, standard_title = _STATUS.get(status, (_RFC2616, "Error"))
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path is not None:
        entry["o:errorPath"] = path
    return {
        "type": kind,
        "title": title or standard_title,
        "status": status,
        "o:errorDetails": [entry],
    }


def record_url(base_url: str, record_type: str, record_id: str) -> str:
    """The absolute URL of one record, as ``Location`` and ``self`` links carry it."""
    return f"{base_url.rstrip('/')}{RECORD_ROOT}/{record_type}/{record_id}"


def link(rel: str, href: str) -> dict[str, str]:
    """One HATEOAS link."""
    return {"rel": rel, "href": href}


def collection(
    base_url: str,
    record_type: str,
    ids: Sequence[str],
    *,
    limit: int,
    offset: int,
    query: Mapping[str, str],
) -> dict[str, Any]:
    """One page of a record collection.

    Args:
        base_url: Scheme and host of the request.
        record_type: The record type listed.
        ids: Every matching id, in order.
        limit: Page size.
        offset: Index of the first item of the page.
        query: The request's other query parameters, repeated in the links (``q`` ...).

    Returns:
        ``{links, count, hasMore, items, offset, totalResults}``.
    """
    page = ids[offset : offset + limit]
    total = len(ids)
    has_more = offset + len(page) < total
    root = f"{base_url.rstrip('/')}{RECORD_ROOT}/{record_type}"

    def at(start: int) -> str:
        return f"{root}?{urlencode({**query, 'limit': limit, 'offset': start})}"

    last = max(0, ((total - 1) // limit) * limit) if total else 0
    links = [link("self", at(offset)), link("first", at(0))]
    if offset > 0:
        links.append(link("prev", at(max(0, offset - limit))))
    if has_more:
        links.append(link("next", at(offset + limit)))
    links.append(link("last", at(last)))
    return {
        "links": links,
        "count": len(page),
        "hasMore": has_more,
        "items": [
            {"links": [link("self", record_url(base_url, record_type, i))], "id": i} for i in page
        ],
        "offset": offset,
        "totalResults": total,
    }


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` and ``offset`` from a query, validated as NetSuite does.

    Raises:
        NetSuiteFault: 400 ``INVALID_PARAMETER`` for a non-numeric or out-of-range value.
    """
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
        offset = int(query.get("offset", 0))
    except ValueError:
        raise NetSuiteFault(
            400, "INVALID_PARAMETER", "The limit and offset parameters must be integers."
        ) from None
    if not 1 <= limit <= DEFAULT_LIMIT or offset < 0:
        raise NetSuiteFault(
            400,
            "INVALID_PARAMETER",
            f"Invalid limit or offset: limit must be 1 to {DEFAULT_LIMIT}, offset at least 0.",
        )
    return limit, offset


__all__ = [
    "ASYNC_ROOT",
    "DEFAULT_LIMIT",
    "RECORD_ROOT",
    "REST_ROOT",
    "TOKEN_PATH",
    "NetSuiteFault",
    "collection",
    "link",
    "paging",
    "problem",
    "record_url",
]
