"""The clock port: services never call datetime.now() themselves, so tests control time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...
