"""Kantata OX wire shapes: the normalized ``results`` response, the ``errors`` array, paging.

Every answer (``reference/vendors.md`` §5.1)::

    {"count": 2,
     "results": [{"key": "workspaces", "id": "10"}, {"key": "workspaces", "id": "11"}],
     "workspaces": {"10": {...}, "11": {...}},
     "meta": {"count": 2, "page_count": 1, "page_number": 1, "page_size": 20}}

``results`` is the canonical order; objects are indexed by id under their type's key, and
included associations (``include=``) appear under their own keys. Errors are
``{"errors": [{"type": "oauth"|"system"|"validation", "message", "field"?}]}``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

API_ROOT = "/api/v1"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200


class KantataFault(Exception):  # noqa: N818 - named like the vendor's answer, carried as a value
    """A refusal in Kantata's shape.

    Args:
        status: The HTTP status (400, 401, 403, 404, 422, 429, 503).
        kind: The error ``type``: ``oauth``, ``system`` or ``validation``.
        message: The human message.
        field: The offending field, for validation errors.
        headers: Extra headers (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.headers = dict(headers or {})
        entry = {"type": kind, "message": message}
        if field is not None:
            entry["field"] = field
        self.errors = [entry]

    @property
    def body(self) -> dict[str, Any]:
        """``{"errors": [...]}``."""
        return {"errors": self.errors}


def validation(errors: Sequence[tuple[str, str]]) -> KantataFault:
    """A 422 listing every (field, message) that failed, as Kantata answers a bad create."""
    fault = KantataFault(422, "validation", errors[0][1], field=errors[0][0])
    fault.errors = [{"type": "validation", "message": m, "field": f} for f, m in errors]
    return fault


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1..200).

    Raises:
        KantataFault: 400 for a value that is not a positive integer.
    """
    try:
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        raise KantataFault(400, "system", "page and per_page must be integers") from None
    if page < 1 or per_page < 1:
        raise KantataFault(400, "system", "page and per_page must be positive")
    return page, min(per_page, MAX_PER_PAGE)


def normalized(
    key: str,
    objects: Sequence[Mapping[str, Any]],
    *,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    total: int | None = None,
    included: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The normalized answer for one page of ``objects`` of type ``key``.

    Args:
        key: The type's top-level key (``workspaces``, ``stories`` ...).
        objects: This page's objects in order; an id may repeat (a duplicated event).
        page: The page number.
        per_page: The page size.
        total: Matching objects over all pages (default: ``len(objects)``).
        included: Associated objects by their key, from ``include=``.

    Returns:
        ``{count, results, <key>: {id: object}, <included keys>..., meta}``.
    """
    count = len(objects) if total is None else total
    body: dict[str, Any] = {
        "count": count,
        "results": [{"key": key, "id": str(o["id"])} for o in objects],
        key: {str(o["id"]): dict(o) for o in objects},
    }
    for other, rows in (included or {}).items():
        body.setdefault(other, {}).update({str(r["id"]): dict(r) for r in rows})
    body["meta"] = {
        "count": count,
        "page_count": max(1, math.ceil(count / per_page)) if count else 0,
        "page_number": page,
        "page_size": per_page,
    }
    return body


__all__ = [
    "API_ROOT",
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "KantataFault",
    "normalized",
    "paging",
    "validation",
]
