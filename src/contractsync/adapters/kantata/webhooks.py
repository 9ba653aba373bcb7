"""Kantata sends no push webhooks: the hub polls ``subscribed_events``, and this is its cursor.

Kantata has no push webhook product (``reference/vendors.md`` §5.1, [U]); changes are pulled
from ``GET /subscribed_events``, which keeps 9 days, may duplicate an event, may generate
events out of order, and may show an event minutes late. ``FeedCursor`` makes that feed
exactly-once for the hub:

- every poll asks for ``created_after = watermark - overlap``, so an event that appears late
  but was created within the overlap is still read;
- the cursor remembers the fingerprints of the events it already delivered whose
  ``created_at`` is inside that window (the seen-id horizon), so re-read events, duplicates
  (same id or not) and reordered pages are dropped;
- events are taken oldest first and the watermark only moves to the newest one taken, so
  what a page leaves behind is still inside the next window.

The cursor is opaque text (compressed JSON); the caller stores it only after processing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from contractsync.adapters.kantata.mapping import event_fingerprint
from contractsync.adapters.kantata.payloads import SubscribedEvent
from contractsync.errors import DataError

HAS_PUSH_WEBHOOKS = False
"""Kantata offers no push webhooks to subscribe to; its events are polled."""


@dataclass(slots=True)
class FeedCursor:
    """Where the hub is in the feed.

    Attributes:
        watermark: Unix seconds of the newest ``created_at`` delivered, or None at the start.
        seen: Fingerprint -> ``created_at`` of delivered events inside the overlap window.
    """

    watermark: float | None = None
    seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def decode(cls, cursor: str | None) -> FeedCursor:
        """Read a cursor (None: the start of the retained feed).

        Raises:
            DataError: ``kantata.cursor_invalid`` for text this module did not write.
        """
        if cursor is None:
            return cls()
        try:
            raw = json.loads(zlib.decompress(base64.urlsafe_b64decode(cursor.encode())))
            return cls(watermark=raw["w"], seen={k: float(v) for k, v in raw["s"].items()})
        except (binascii.Error, zlib.error, ValueError, KeyError, TypeError, AttributeError):
            raise DataError(
                "The Kantata event cursor cannot be read.",
                code="kantata.cursor_invalid",
                remediation="Start polling again without a cursor (events of the last 9 days "
                "are re-read; the inbox drops the ones already processed).",
            ) from None

    def encode(self) -> str:
        """The opaque text to store."""
        raw = json.dumps({"w": self.watermark, "s": self.seen}, separators=(",", ":"))
        return base64.urlsafe_b64encode(zlib.compress(raw.encode())).decode()

    def created_after(self, overlap_seconds: float) -> str | None:
        """The ``created_after`` filter of the next poll (ISO 8601), or None for everything."""
        if self.watermark is None:
            return None
        since = dt.datetime.fromtimestamp(self.watermark - overlap_seconds, dt.UTC)
        return since.strftime("%Y-%m-%dT%H:%M:%SZ")

    def take(
        self,
        events: Iterable[SubscribedEvent],
        *,
        limit: int,
        is_reported: Callable[[SubscribedEvent], bool],
        overlap_seconds: float,
    ) -> tuple[list[SubscribedEvent], bool]:
        """Pick the next events to report and advance past them.

        Events are considered oldest first (by ``created_at``, then id); each unseen one is
        marked seen, and reported when ``is_reported`` says so, until ``limit`` are reported.

        Args:
            events: What the feed answered for this cursor's window, in any order.
            limit: Events to report at most.
            is_reported: False for events the hub does not follow (still marked seen).
            overlap_seconds: How far behind the watermark the window reaches.

        Returns:
            The events to report, and whether anything new was found at all.
        """
        fresh: dict[str, SubscribedEvent] = {}
        for event in sorted(
            events, key=lambda e: (e.created_at, int(e.id) if e.id.isdigit() else 0)
        ):
            fingerprint = event_fingerprint(event)
            if fingerprint not in self.seen and fingerprint not in fresh:
                fresh[fingerprint] = event
        reported: list[SubscribedEvent] = []
        for fingerprint, event in fresh.items():
            if len(reported) >= limit:
                break
            created = event.created_at.timestamp()
            self.seen[fingerprint] = created
            self.watermark = created if self.watermark is None else max(self.watermark, created)
            if is_reported(event):
                reported.append(event)
        if self.watermark is not None:
            # Older than the next window: never read again, so no longer worth remembering.
            horizon = self.watermark - overlap_seconds - 1
            self.seen = {k: v for k, v in self.seen.items() if v >= horizon}
        return reported, bool(fresh)


__all__ = ["HAS_PUSH_WEBHOOKS", "FeedCursor"]
