"""Cursor pagination: ``?limit=`` (at most 200) and an opaque ``cursor``, ``next_cursor`` and Link."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

from contractsync.entrypoints.api.problems import ProblemError

MAX_LIMIT = 200
"""The largest page a client may ask for."""
DEFAULT_LIMIT = 50

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """What page a client asked for: how many items, and after which position.

    Attributes:
        limit: Items per page, 1 to :data:`MAX_LIMIT`.
        cursor: The opaque cursor from the previous page's ``next_cursor``, if any.
    """

    limit: int
    cursor: str | None

    def position(self, listing: str, of: type[str] | type[int] = str) -> Any:
        """The position the cursor holds for ``listing`` (None on the first page).

        Args:
            listing: The list's name, as given to :func:`cut`.
            of: The type the position must have (``str`` keys, ``int`` sequence numbers).

        Raises:
            ProblemError: 422 ``pagination.cursor_invalid`` when the cursor is not one this
                API issued for the same list.
        """
        if self.cursor is None:
            return None
        try:
            padded = self.cursor + "=" * (-len(self.cursor) % 4)
            decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (ValueError, UnicodeError, binascii.Error):
            decoded = None
        at = decoded.get("at") if isinstance(decoded, dict) else None
        if not isinstance(decoded, dict) or decoded.get("list") != listing or type(at) is not of:
            raise ProblemError(
                422,
                "pagination.cursor_invalid",
                "The cursor is not one this list issued.",
                remediation="Send back next_cursor exactly as received, or drop it to "
                "start from the first page.",
            )
        return at


def page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=1024,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="The previous page's next_cursor; omit for the first page.",
        ),
    ] = None,
) -> PageRequest:
    """The page a request asks for (a FastAPI dependency)."""
    return PageRequest(limit=limit, cursor=cursor)


Paging = Annotated[PageRequest, Depends(page_request)]
"""A handler parameter receiving the requested page."""


def encode_cursor(listing: str, position: Any) -> str:
    """An opaque cursor pointing after ``position`` (JSON-ready) in ``listing``."""
    text = json.dumps({"list": listing, "at": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def cut(
    rows: Sequence[T],
    page: PageRequest,
    *,
    listing: str,
    position_of: Any,
    request: Request,
    response: Response,
) -> tuple[list[T], str | None]:
    """Cut ``rows`` (fetched with ``limit + 1``) to a page; set the Link header if more follow.

    Args:
        rows: Up to ``page.limit + 1`` rows in list order; one more than the limit means a
            next page exists.
        page: The requested page.
        listing: The list's name, bound into its cursors.
        position_of: Gives the JSON-ready position of a row (what the next query starts after).
        request: The request, to build the next page's URL.
        response: The response, which gets ``Link: <...>; rel="next"``.

    Returns:
        The page's rows and the next cursor (None on the last page).
    """
    items = list(rows[: page.limit])
    if len(rows) <= page.limit or not items:
        return items, None
    next_cursor = encode_cursor(listing, position_of(items[-1]))
    url = request.url.include_query_params(cursor=next_cursor, limit=page.limit)
    response.headers["Link"] = f'<{url}>; rel="next"'
    return items, next_cursor


LINK_HEADER = {
    "Link": {
        "description": 'The next page, as `<url>; rel="next"`; absent on the last page.',
        "schema": {"type": "string"},
    }
}
"""OpenAPI ``headers`` entry of every paged response."""


__all__ = [
    "DEFAULT_LIMIT",
    "LINK_HEADER",
    "MAX_LIMIT",
    "PageRequest",
    "Paging",
    "cut",
    "encode_cursor",
    "page_request",
]
