"""A loopback HTTP stand-in for an external system that counts every effect applied to it.

``POST /effects`` with an ``Idempotency-Key`` header applies an effect once per key; a replay
of a key returns the original 201 and applies nothing. The recorder tracks requests in flight
(current and maximum) and can inject latency and "commit, then drop the response" faults, so
tests and benchmarks can prove that no effect is applied twice and that a concurrency limit
held. ``GET /effects/{key}`` looks an effect up; ``GET /stats`` reports the counts.

Run it in-process with ``RecorderServer`` or standalone with
``python -m contractsync.testing.effect_recorder --port 8765 --latency 0.05``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

import httpx

from contractsync.adapters.http import classify_response, map_transport_errors

_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class EffectRecorder:
    """The ASGI application and its state; safe to read from other threads.

    Args:
        latency_seconds: How long each ``POST /effects`` takes before it commits.
    """

    def __init__(self, *, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self._lock = threading.Lock()
        self._effects: dict[str, dict[str, Any]] = {}
        self._requests: Counter[str] = Counter()
        self._drops_left = 0
        self._drop_after_commit = True
        self._dropped: list[str] = []
        self._in_flight = 0
        self._max_in_flight = 0

    def drop_next_responses(self, count: int, *, after_commit: bool = True) -> None:
        """Hang up on the next ``count`` POSTs of new keys without answering.

        With ``after_commit`` (the default) each effect is applied first, the classic
        ambiguous commit; without it nothing is applied, like a request lost on the way in.
        """
        with self._lock:
            self._drops_left = count
            self._drop_after_commit = after_commit

    def stats(self) -> dict[str, Any]:
        """Return the counts: effects, requests, dropped answers and requests in flight.

        ``effects`` maps each key to the body it was applied with; ``requests`` counts the
        POSTs seen per key, replays included; ``dropped`` lists keys whose answer was dropped.
        """
        with self._lock:
            return {
                "effects": {key: effect["body"] for key, effect in self._effects.items()},
                "requests": dict(self._requests),
                "dropped": list(self._dropped),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        """Serve one ASGI request."""
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/effects":
            await self._apply(scope, receive, send)
        elif method == "GET" and path.startswith("/effects/"):
            key = unquote(path.removeprefix("/effects/"))
            with self._lock:
                effect = self._effects.get(key)
            await _respond(send, 200 if effect else 404, effect or {"error": "no such effect"})
        elif method == "GET" and path == "/stats":
            await _respond(send, 200, self.stats())
        else:
            await _respond(send, 404, {"error": f"no route {method} {path}"})

    async def _apply(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
            body = await _read_body(receive)
            if not key:
                await _respond(send, 400, {"error": "Idempotency-Key header is required"})
                return
            if self.latency_seconds:
                await asyncio.sleep(self.latency_seconds)
            with self._lock:
                self._requests[key] += 1
                effect = self._effects.get(key)
                drop = effect is None and self._drops_left > 0
                if drop:
                    self._drops_left -= 1
                    self._dropped.append(key)
                if effect is None and (not drop or self._drop_after_commit):
                    effect = {"key": key, "effect_id": len(self._effects) + 1, "body": body}
                    self._effects[key] = effect
            if drop:
                # Announce a body, send one byte of it and hang up: the client cannot tell
                # whether the effect happened, exactly as after a timeout.
                await send(_start(201, 1000))
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                return
            await _respond(send, 201, effect)
        finally:
            with self._lock:
                self._in_flight -= 1


async def _read_body(receive: _Receive) -> Any:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    raw = b"".join(chunks)
    return json.loads(raw) if raw else None


def _start(status: int, length: int) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]
    return {"type": "http.response.start", "status": status, "headers": headers}


async def _respond(send: _Send, status: int, document: Any) -> None:
    body = json.dumps(document).encode()
    await send(_start(status, len(body)))
    await send({"type": "http.response.body", "body": body})


class RecorderServer:
    """Serve an EffectRecorder on a free loopback port from a background thread.

    Use as a context manager; ``url`` is the base URL while it runs.
    """

    def __init__(self, recorder: EffectRecorder, *, port: int = 0) -> None:
        import uvicorn  # imported here so workers that only use the client start faster

        self.recorder = recorder
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(recorder, log_level="critical", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> RecorderServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the effect recorder did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class EffectRecorderClient:
    """Talk to an effect recorder the way an adapter talks to a vendor, through ``adapters.http``.

    Args:
        base_url: The recorder's base URL.
        timeout_seconds: Per-request timeout; a read timeout after sending is ambiguous.
    """

    system = "effect-recorder"

    def __init__(self, base_url: str, *, timeout_seconds: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_seconds)

    def apply(self, key: str, payload: Any) -> dict[str, Any]:
        """Apply an effect under ``key``; return the recorder's record of it.

        Raises:
            TransientError: the request never reached the recorder, or it answered 429/5xx.
            AmbiguousCommitError: the request was sent and the answer was lost.
            ContractSyncError: any other classified non-2xx answer.
        """
        with map_transport_errors(self.system, is_write=True):
            response = self._http.post("/effects", json=payload, headers={"Idempotency-Key": key})
        return _document(classify_response(response, system=self.system))

    def lookup(self, key: str) -> dict[str, Any] | None:
        """Return the effect recorded under ``key``, or None.

        Raises:
            TransientError: the recorder could not be asked.
        """
        with map_transport_errors(self.system, is_write=False):
            response = self._http.get(f"/effects/{quote(key, safe='')}")
        if response.status_code == 404:
            return None
        return _document(classify_response(response, system=self.system))

    def stats(self) -> dict[str, Any]:
        """Return the recorder's ``GET /stats`` document."""
        with map_transport_errors(self.system, is_write=False):
            response = self._http.get("/stats")
        return _document(classify_response(response, system=self.system))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def _document(response: httpx.Response) -> dict[str, Any]:
    document: dict[str, Any] = response.json()
    return document


def main() -> None:
    """Serve a recorder until interrupted (``--port``, ``--latency`` in seconds)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    arguments = parser.parse_args()
    with RecorderServer(
        EffectRecorder(latency_seconds=arguments.latency), port=arguments.port
    ) as server:
        print(f"effect recorder on {server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
