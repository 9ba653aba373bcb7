"""An httpx transport that injects 503s and lost-after-commit responses into a real server's traffic."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def is_unsafe_method(request: httpx.Request) -> bool:
    """Return True for HTTP methods that may change state (the default write test)."""
    return request.method not in _SAFE_METHODS


@dataclass
class FaultCounts:
    """What a ``FaultyTransport`` did so far.

    Attributes:
        requests: Requests it was asked to send.
        writes: Requests forwarded to the server that ``is_write`` called writes.
        errors: Requests answered with an injected 503 (never forwarded).
        lost: Writes forwarded, committed by the server, and then reported as a read timeout.
    """

    requests: int = 0
    writes: int = 0
    errors: int = 0
    lost: int = 0


class FaultyTransport(httpx.BaseTransport):
    """Wraps a real transport and injects faults, reproducibly from ``seed``.

    For each request, with probability ``error_rate`` it answers 503 without forwarding
    anything (the server never sees it). Otherwise it forwards the request; if
    ``is_write(request)``, then with probability ``lost_rate`` it reads the server's full
    response (so the server has finished and committed) and raises ``httpx.ReadTimeout``
    as if the response had been lost on the way back: "committed, but the response was lost".

    The same seed and the same sequence of requests give the same faults.

    Args:
        inner: The transport that reaches the real server (e.g. ``httpx.HTTPTransport()``).
        error_rate: Share of requests answered with an injected 503, in [0, 1].
        lost_rate: Share of forwarded writes whose response is lost, in [0, 1].
        seed: Seeds the random generator.
        is_write: Tells a write from a read; for JSON-RPC, look at the method in the body.

    Raises:
        ValueError: a rate is outside [0, 1].
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        error_rate: float = 0.0,
        lost_rate: float = 0.0,
        seed: int = 0,
        is_write: Callable[[httpx.Request], bool] = is_unsafe_method,
    ) -> None:
        if not (0 <= error_rate <= 1 and 0 <= lost_rate <= 1):
            raise ValueError("error_rate and lost_rate must be within [0, 1]")
        self.inner = inner
        self.error_rate = error_rate
        self.lost_rate = lost_rate
        self.is_write = is_write
        self.counts = FaultCounts()
        self._random = random.Random(seed)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the inner transport, unless a fault is drawn."""
        self.counts.requests += 1
        # Both draws happen for every request so that one seed gives one fault pattern.
        fail, lose = self._random.random(), self._random.random()
        if fail < self.error_rate:
            self.counts.errors += 1
            return httpx.Response(
                503, headers={"Content-Type": "text/plain"}, content=b"injected", request=request
            )
        response = self.inner.handle_request(request)
        if not self.is_write(request):
            return response
        self.counts.writes += 1
        if lose >= self.lost_rate:
            return response
        # Reading the whole body waits for the server to finish: the write has committed.
        response.read()
        response.close()
        self.counts.lost += 1
        raise httpx.ReadTimeout("injected: the response was lost after the write", request=request)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


__all__ = ["FaultCounts", "FaultyTransport", "is_unsafe_method"]
