"""Operator scenarios, synthetic failures, the clock and the rate limits of the Kantata simulator."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from contractsync.simulators.app import Scenario
from contractsync.simulators.kantata_account import KantataAccount
from contractsync.simulators.kantata_events import EventDelivery, EventFeed
from contractsync.simulators.kantata_wire import KantataFault

OPERATOR_USER = 2
"""Changes made through scenarios are made by this user (a person in the Kantata UI)."""


class SimClock:
    """Wall-clock time plus an offset the operator can advance (lag, retention, rate windows)."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self.base = base
        self.offset = 0.0

    def __call__(self) -> float:
        """Unix seconds, advanced."""
        return self.base() + self.offset


class RateLimiter:
    """Requests per rolling minute: overall and per endpoint (``"POST workspaces"``).

    Args:
        per_minute: Requests allowed per minute overall, or None for no limit.
        endpoints: Per-endpoint limits per minute.
        clock: Unix seconds.
    """

    def __init__(
        self, per_minute: int | None, endpoints: Mapping[str, int], clock: Callable[[], float]
    ) -> None:
        self.per_minute = per_minute
        self.endpoints = dict(endpoints)
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def allow(self, endpoint: str) -> bool:
        """Count one request to ``endpoint``; False when a limit is already reached."""
        now = self.clock()
        with self._lock:
            limits = {"*": self.per_minute, endpoint: self.endpoints.get(endpoint)}
            for name, limit in limits.items():
                window = self._seen.setdefault(name, deque())
                while window and window[0] <= now - 60:
                    window.popleft()
                if limit is not None and len(window) >= limit:
                    return False
            for name in limits:
                self._seen[name].append(now)
            return True

    def reset(self) -> None:
        """Forget the counted requests."""
        with self._lock:
            self._seen.clear()


class KantataFaults:
    """Kantata-shaped 503, 429 and 422 for the fault plan."""

    def server_error(self) -> tuple[int, dict[str, str], Any]:
        """503 with a system error."""
        return 503, {}, KantataFault(503, "system", "Service is unavailable").body

    def rate_limited(self, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
        """429; Kantata documents no ``Retry-After`` ([U]), so only a plan adds one."""
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        return 429, headers, too_many_requests().body

    def validation_error(self) -> tuple[int, dict[str, str], Any]:
        """422 with a validation error on ``title``."""
        fault = KantataFault(422, "validation", "Please give your project a title", field="title")
        return 422, {}, fault.body


def too_many_requests(retry_after: float | None = None) -> KantataFault:
    """The 429 Kantata answers past a rate limit ("retry your request after a small delay")."""
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    return KantataFault(
        429, "system", "Too Many Requests: please retry after a small delay", headers=headers
    )


class StoryBody(BaseModel):
    """A story (milestone) to complete or reopen, as a person in the Kantata UI would."""

    story_id: str


class LogTimeBody(BaseModel):
    """Time logged by a person on a workspace (and optionally a story)."""

    workspace_id: str
    story_id: str | None = None
    minutes: int = Field(default=60, gt=0)
    date_performed: dt.date | None = None
    count: int = Field(default=1, ge=1, le=1000, description="Entries to log, one event each.")


class EditWorkspaceBody(BaseModel):
    """Edit a workspace by hand."""

    workspace_id: str
    fields: dict[str, Any]


class AdvanceClockBody(BaseModel):
    """Move the simulator's clock forward (lagging events appear, old ones expire)."""

    seconds: float = Field(ge=0)


class RateLimitBody(BaseModel):
    """The rate limits, per rolling minute."""

    requests_per_minute: int | None = Field(default=None, ge=0)
    endpoints: dict[str, int] = Field(default_factory=dict)


def _guard(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return run()
    except KantataFault as fault:
        raise HTTPException(fault.status, fault.body) from None


def _story(account: KantataAccount, body: StoryBody, state: str) -> dict[str, Any]:
    story = account.update("stories", body.story_id, {"state": state}, user_id=OPERATOR_USER)
    return {"story": story, "event_id": account.last_event_id}


def _log_time(account: KantataAccount, clock: SimClock, body: LogTimeBody) -> dict[str, Any]:
    day = body.date_performed or dt.datetime.fromtimestamp(clock(), dt.UTC).date()
    ids, events = [], []
    for _ in range(body.count):
        entry = account.create(
            "time_entries",
            {
                "workspace_id": body.workspace_id,
                "story_id": body.story_id,
                "date_performed": day.isoformat(),
                "time_in_minutes": body.minutes,
            },
            user_id=OPERATOR_USER,
        )
        ids.append(entry["id"])
        events.append(account.last_event_id)
    return {"time_entry_ids": ids, "event_ids": events}


def _delivery(feed: EventFeed, changes: Mapping[str, Any]) -> dict[str, Any]:
    feed.delivery = EventDelivery.model_validate({**feed.delivery.model_dump(), **changes})
    return feed.delivery.model_dump()


def _advance(clock: SimClock, body: AdvanceClockBody) -> dict[str, Any]:
    clock.offset += body.seconds
    return {"offset_seconds": clock.offset}


def _limits(limiter: RateLimiter, body: RateLimitBody) -> dict[str, Any]:
    limiter.per_minute, limiter.endpoints = body.requests_per_minute, dict(body.endpoints)
    return body.model_dump()


def kantata_scenarios(
    account: KantataAccount, clock: SimClock, limiter: RateLimiter
) -> tuple[Scenario, ...]:
    """The operator drivers of one account.

    Returns:
        ``complete_milestone``, ``reopen_milestone``, ``log_time``, ``edit_workspace``,
        ``set_event_delivery``, ``advance_clock`` and ``set_rate_limit``.
    """
    edit = lambda b: _guard(  # noqa: E731 - a one-line driver
        lambda: account.update("workspaces", b.workspace_id, b.fields, user_id=OPERATOR_USER)
    )
    return (
        Scenario(
            "complete_milestone",
            "Mark a story completed (emits story:updated).",
            StoryBody,
            lambda b: _guard(lambda: _story(account, b, "completed")),
        ),
        Scenario(
            "reopen_milestone",
            "Move a completed story back to started.",
            StoryBody,
            lambda b: _guard(lambda: _story(account, b, "started")),
        ),
        Scenario(
            "log_time",
            "Log time entries on a workspace (emits time_entry:created each).",
            LogTimeBody,
            lambda b: _guard(lambda: _log_time(account, clock, b)),
        ),
        Scenario("edit_workspace", "Edit a workspace by hand.", EditWorkspaceBody, edit),
        Scenario(
            "set_event_delivery",
            "Change duplicates, lag, reordering, retention or the add-on of the event feed.",
            EventDelivery,
            lambda b: _delivery(account.feed, b.model_dump(exclude_unset=True)),
        ),
        Scenario(
            "advance_clock",
            "Move the simulator's clock forward.",
            AdvanceClockBody,
            lambda b: _advance(clock, b),
        ),
        Scenario(
            "set_rate_limit",
            "Set the requests allowed per rolling minute, overall and per endpoint.",
            RateLimitBody,
            lambda b: _limits(limiter, b),
        ),
    )


__all__ = [
    "OPERATOR_USER",
    "KantataFaults",
    "RateLimiter",
    "SimClock",
    "kantata_scenarios",
    "too_many_requests",
]
