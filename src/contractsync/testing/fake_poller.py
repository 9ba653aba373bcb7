"""An in-memory Poller whose pages overlap, repeat events and come out of order, as Kantata's do."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from contractsync.ports.ingress import PolledBatch, PolledEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def feed_events(count: int, *, prefix: str = "evt") -> list[PolledEvent]:
    """``count`` distinct events, one minute apart from ``T0`` (test data)."""
    return [
        PolledEvent(
            event_id=f"{prefix}-{n:04d}",
            event_type="time_entry:created",
            body=f'{{"id": "{prefix}-{n:04d}", "minutes": {n}}}'.encode(),
            occurred_at=T0 + timedelta(minutes=n),
        )
        for n in range(count)
    ]


class ScriptedFeed:
    """A :class:`~contractsync.ports.ingress.Poller` over a fixed list of events.

    The cursor is the index of the first event not yet covered. Each page also repeats the
    ``overlap`` events before the cursor and every ``repeat_every``-th event of the page,
    then is shuffled (seeded): a reader sees duplicates and disorder on every page, never a
    gap. ``failures`` are raised by the next reads, one per read, before any page is served.

    Args:
        events: The feed's events, oldest first.
        overlap: Events before the cursor re-sent at the head of each page.
        repeat_every: Every n-th event of a page is sent twice (0: never).
        seed: Seeds the shuffle.
        before_serving: Called with the cursor before each page is served (a barrier, a hook).
    """

    def __init__(
        self,
        events: Sequence[PolledEvent],
        *,
        overlap: int = 0,
        repeat_every: int = 0,
        seed: int = 7,
        before_serving: Callable[[str | None], None] | None = None,
    ) -> None:
        self.events = list(events)
        self.overlap = overlap
        self.repeat_every = repeat_every
        self.failures: list[Exception] = []
        self.reads: list[str | None] = []
        self._random = random.Random(seed)
        self._before_serving = before_serving
        self._lock = threading.Lock()

    def poll(self, cursor: str | None, limit: int) -> PolledBatch:
        """Serve the page after ``cursor`` (or raise the next scripted failure)."""
        with self._lock:
            self.reads.append(cursor)
            if self.failures:
                raise self.failures.pop(0)
        if self._before_serving is not None:
            self._before_serving(cursor)
        start = int(cursor or 0)
        end = min(len(self.events), start + limit)
        page = self.events[max(0, start - self.overlap) : end]
        if self.repeat_every:
            page += page[:: self.repeat_every]
        with self._lock:
            self._random.shuffle(page)
        return PolledBatch(
            events=tuple(page),
            next_cursor=str(end) if end > start else cursor,
            has_more=end < len(self.events),
        )


__all__ = ["T0", "ScriptedFeed", "feed_events"]
