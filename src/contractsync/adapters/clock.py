"""The system clock: the real time, for production (tests use ``testing.fakes.FixedClock``)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """:class:`~contractsync.ports.clock.Clock` reading the operating system's clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)
