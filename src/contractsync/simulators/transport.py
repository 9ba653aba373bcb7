"""httpx transports that mount a simulator in process, failing the way a real socket would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx

from contractsync.simulators.faults import (
    IN_PROCESS_SCOPE_KEY,
    ASGIApp,
    Receive,
    Scope,
    Send,
    SimulatedDisconnect,
)

T = TypeVar("T")


def _marked(app: ASGIApp) -> ASGIApp:
    """Wrap ``app`` so the fault middleware knows it runs in process (no real sleeping)."""

    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        extensions = {**scope.get("extensions", {}), IN_PROCESS_SCOPE_KEY: True}
        await app({**scope, "extensions": extensions}, receive, send)

    return marked


def _socket_error(exc: SimulatedDisconnect, request: httpx.Request) -> httpx.TransportError:
    if exc.kind == "timeout":
        return httpx.ReadTimeout("simulated: the server did not answer in time", request=request)
    return httpx.RemoteProtocolError(
        "simulated: peer closed connection without sending complete message body",
        request=request,
    )


class AsyncSimulatorTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` for a simulator, with simulated disconnects as httpx errors.

    A ``timeout`` fault becomes ``httpx.ReadTimeout`` and a ``lost_response`` fault becomes
    ``httpx.RemoteProtocolError`` (after the write was applied), exactly what an adapter sees
    from a real server. Any other exception of the app propagates, so simulator bugs surface.

    Args:
        app: The simulator's ASGI app.
        base_url: Scheme and host the app believes it is served at.
    """

    def __init__(self, app: ASGIApp, *, base_url: str = "http://simulator") -> None:
        self._inner = httpx.ASGITransport(app=_marked(app))
        self.base_url = base_url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` with the app."""
        body = await request.aread()
        buffered = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )
        try:
            response = await self._inner.handle_async_request(buffered)
        except SimulatedDisconnect as exc:
            raise _socket_error(exc, request) from exc
        return response


class SimulatorTransport(httpx.BaseTransport):
    """A synchronous httpx transport serving requests with a simulator's ASGI app in process.

    The app runs on a private event loop in a daemon thread, so ``httpx.Client(transport=...)``
    works from plain synchronous code (the adapters are synchronous). ``close()`` stops the
    loop; ``httpx.Client.close()`` calls it.

    Args:
        app: The simulator's ASGI app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._async = AsyncSimulatorTransport(app)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="simulator-transport", daemon=True
        )
        self._thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` and return the fully read response."""
        body = request.read()
        buffered = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body,
            extensions=request.extensions,
        )

        async def exchange() -> tuple[int, httpx.Headers, bytes]:
            response = await self._async.handle_async_request(buffered)
            content = await response.aread()
            return response.status_code, response.headers, content

        try:
            status, headers, content = self._run(exchange())
        except httpx.TransportError as exc:
            exc.request = request
            raise
        # Decoded bytes are returned, so the encoding header no longer describes them.
        headers = httpx.Headers(
            [(k, v) for k, v in headers.multi_items() if k.lower() != "content-encoding"]
        )
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        """Stop the private event loop."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)


__all__ = ["AsyncSimulatorTransport", "SimulatorTransport"]
