"""Fault injection for simulators: a seeded plan, per-request decisions, and the ASGI middleware.

A ``FaultPlan`` says how often each fault happens; a ``FaultInjector`` turns it into one
decision per request, drawn from ``random.Random(seed)`` so a run is reproducible; the
``FaultMiddleware`` (``middleware.py``) applies it around the vendor app:

======================  ==============================================================
fault                   what the client sees
======================  ==============================================================
``latency``             every matching request waits ``latency_ms`` (+ jitter) first
``server_error``        the vendor's own 5xx body (not applied)
``rate_limit``          the vendor's own throttle response, e.g. Salesforce 403
                        ``REQUEST_LIMIT_EXCEEDED`` (not applied)
``validation_error``    the vendor's own validation error, e.g. a 400 error array
``timeout``             no response: in process a ``ReadTimeout``, on a real server the
                        request hangs ``timeout_seconds`` and the connection closes
``lost_response``       writes only: the write IS applied, then the connection drops
                        mid-body (``RemoteProtocolError``), "committed but lost"
``schema_drift``        JSON bodies gain ``drift_extra_fields`` and rename the keys
                        in ``drift_renamed_fields`` (webhooks included)
======================  ==============================================================

``script`` forces the next faults in order (one per matching request) before any random
draw, which is what a conformance check uses: "the next write gets a lost response".
Duplicate and out-of-order webhook deliveries are read from the same plan by
``webhooks_out``. Operator routes (``/_sim/...``) are never faulted.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal["server_error", "rate_limit", "validation_error", "timeout", "lost_response"]
"""A fault that replaces (or, for ``lost_response``, follows) the vendor's real answer."""

FAULT_KINDS: tuple[FaultKind, ...] = (
    "server_error",
    "rate_limit",
    "validation_error",
    "timeout",
    "lost_response",
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPERATOR_PREFIX = "/_sim"
IN_PROCESS_SCOPE_KEY = "contractsync.simulator.in_process"
"""Set in the ASGI scope ``extensions`` by the in-process transport: faults never sleep there."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FaultPlan(BaseModel):
    """How often each fault happens; changeable at runtime through ``PUT /_sim/faults``.

    Rates are probabilities per matching request, drawn in the order listed in
    ``FAULT_KINDS`` (at most one fault per request). ``lost_response`` only hits writes.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=0, description="Seed of the random draws; same seed, same faults.")
    latency_ms: float = Field(default=0.0, ge=0, description="Added to every matching request.")
    latency_jitter_ms: float = Field(default=0.0, ge=0, description="Uniform extra latency.")
    server_error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)
    validation_error_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    lost_response_rate: float = Field(default=0.0, ge=0, le=1)
    retry_after_seconds: float | None = Field(
        default=None, ge=0, description="Sent as Retry-After on throttles where the vendor does."
    )
    timeout_seconds: float = Field(
        default=30.0, ge=0, description="How long a real server hangs before it drops."
    )
    duplicate_webhook_rate: float = Field(default=0.0, ge=0, le=1)
    reorder_webhooks: bool = Field(default=False, description="Shuffle each batch of deliveries.")
    drift_extra_fields: dict[str, Any] = Field(default_factory=dict)
    drift_renamed_fields: dict[str, str] = Field(default_factory=dict)
    paths: list[str] = Field(
        default_factory=list, description="Path prefixes faults apply to; empty means all."
    )
    writes_only: bool = Field(default=False, description="Fault only POST/PUT/PATCH/DELETE.")
    script: list[FaultKind] = Field(
        default_factory=list, description="Forced faults for the next matching requests."
    )

    def rate_of(self, kind: FaultKind) -> float:
        """The configured probability of ``kind``."""
        rate: float = getattr(self, f"{kind}_rate")
        return rate

    @property
    def has_drift(self) -> bool:
        """True when responses and webhooks are to be rewritten."""
        return bool(self.drift_extra_fields or self.drift_renamed_fields)


class FaultResponses(Protocol):
    """The vendor's own shape of each synthetic failure (status, headers, JSON body)."""

    def server_error(self) -> tuple[int, dict[str, str], Any]:
        """A vendor 5xx."""
        ...

    def rate_limited(self, retry_after: float | None) -> tuple[int, dict[str, str], Any]:
        """The vendor's throttle answer; include ``Retry-After`` only if the vendor sends one."""
        ...

    def validation_error(self) -> tuple[int, dict[str, str], Any]:
        """The vendor's refusal of a record's content."""
        ...


class SimulatedDisconnect(Exception):  # noqa: N818 - it is a signal, not an error condition
    """Raised by the middleware to end a request without a (complete) response.

    The in-process transport turns it into the httpx exception a real socket would produce;
    on a real server uvicorn closes the connection.

    Args:
        kind: ``timeout`` (nothing was applied) or ``lost_response`` (the write was applied).
    """

    def __init__(self, kind: Literal["timeout", "lost_response"]) -> None:
        super().__init__(kind)
        self.kind = kind


class FaultInjector:
    """Draws one decision per request from a ``FaultPlan``; thread-safe and counted.

    Args:
        plan: The initial plan; ``reset()`` returns to it.
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._initial = (plan or FaultPlan()).model_copy(deep=True)
        self._lock = threading.Lock()
        self.plan = self._initial.model_copy(deep=True)
        self._random = random.Random(self.plan.seed)
        self.injected: Counter[str] = Counter()
        self.requests = 0

    def reset(self) -> None:
        """Back to the run's initial plan, a fresh random sequence and zero counters."""
        self.replace(self._initial)
        with self._lock:
            self.injected.clear()
            self.requests = 0

    def replace(self, plan: FaultPlan) -> None:
        """Use ``plan`` from now on; the random sequence restarts from its seed."""
        with self._lock:
            self.plan = plan.model_copy(deep=True)
            self._random = random.Random(plan.seed)

    def update(self, changes: dict[str, Any]) -> FaultPlan:
        """Merge ``changes`` into the current plan (validated) and return the result."""
        merged = FaultPlan.model_validate({**self.plan.model_dump(), **changes})
        with self._lock:
            reseed = "seed" in changes
            self.plan = merged
            if reseed:
                self._random = random.Random(merged.seed)
        return merged

    def force(self, *kinds: FaultKind) -> None:
        """Append ``kinds`` to the script: the next matching requests get them, in order."""
        with self._lock:
            self.plan.script.extend(kinds)

    def applies_to(self, method: str, path: str) -> bool:
        """True when faults may hit this request under the current plan."""
        if path.startswith(OPERATOR_PREFIX):
            return False
        plan = self.plan
        if plan.writes_only and method not in WRITE_METHODS:
            return False
        return not plan.paths or any(path.startswith(prefix) for prefix in plan.paths)

    def decide(self, method: str, path: str) -> tuple[FaultKind | None, float]:
        """Return the fault for this request (or None) and the latency to add, in seconds."""
        if not self.applies_to(method, path):
            return None, 0.0
        is_write = method in WRITE_METHODS
        with self._lock:
            self.requests += 1
            plan = self.plan
            latency = plan.latency_ms + self._random.random() * plan.latency_jitter_ms
            # Draw every kind on every request so one rate change never shifts the others.
            draws = {kind: self._random.random() for kind in FAULT_KINDS}
            chosen: FaultKind | None = None
            if plan.script and (plan.script[0] != "lost_response" or is_write):
                chosen = plan.script.pop(0)
            else:
                for kind in FAULT_KINDS:
                    if kind == "lost_response" and not is_write:
                        continue
                    if draws[kind] < plan.rate_of(kind):
                        chosen = kind
                        break
            if chosen is not None:
                self.injected[chosen] += 1
            return chosen, latency / 1000.0

    def draw(self) -> float:
        """One more number from the seeded sequence (for webhook duplicates and reordering)."""
        with self._lock:
            return self._random.random()

    def shuffle(self, items: list[Any]) -> None:
        """Shuffle ``items`` in place with the seeded sequence."""
        with self._lock:
            self._random.shuffle(items)


def drift(value: Any, plan: FaultPlan) -> Any:
    """Rewrite a decoded JSON value as a drifted vendor would send it.

    Every object gains ``drift_extra_fields`` (keys it already has are kept) and every key
    named in ``drift_renamed_fields`` is renamed, at any depth.
    """
    if isinstance(value, list):
        return [drift(item, plan) for item in value]
    if not isinstance(value, dict):
        return value
    renamed = {plan.drift_renamed_fields.get(k, k): drift(v, plan) for k, v in value.items()}
    for key, extra in plan.drift_extra_fields.items():
        renamed.setdefault(key, extra)
    return renamed


__all__ = [
    "FAULT_KINDS",
    "IN_PROCESS_SCOPE_KEY",
    "OPERATOR_PREFIX",
    "WRITE_METHODS",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "FaultResponses",
    "SimulatedDisconnect",
    "drift",
]
