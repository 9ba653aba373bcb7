"""NetSuite sends no push webhooks: the hub pulls, and this module says how to ask for changes.

NetSuite has no native outbound webhooks (``reference/vendors.md`` §4.5, [U]); a push would
need a SuiteScript user-event script calling out, which the hub does not install. The ERP is
therefore read on demand (``snapshot``, reconciliation) and, to find what changed, polled
with a ``q`` filter on ``lastModifiedDate`` over the record collections.
"""

from __future__ import annotations

import datetime as dt

HAS_PUSH_WEBHOOKS = False
"""NetSuite offers no push webhooks to subscribe to."""


def modified_since(instant: dt.datetime) -> str:
    """The ``q`` filter of records modified after ``instant`` (in NetSuite's date format).

    Args:
        instant: An aware datetime; it is expressed in UTC.

    Returns:
        e.g. ``lastModifiedDate AFTER "2026-01-05T09:00:00Z"``.
    """
    utc = instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'lastModifiedDate AFTER "{utc}"'


__all__ = ["HAS_PUSH_WEBHOOKS", "modified_since"]
