"""NATS JetStream as the scale-out event bus: a synchronous publisher over nats-py's asyncio client.

nats-py is asyncio-only while the outbox relay, the webhook sender and DBOS steps are plain
threads, so :class:`JetStreamBus` runs one private event loop on a daemon thread and every
public method submits a coroutine to it and waits. Callers never see asyncio.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js.api import PubAck, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from contractsync.adapters.messaging.cloudevents import CONTENT_TYPE, encode
from contractsync.domain.events import BusinessEvent
from contractsync.errors import ConfigError, TransientError

_T = TypeVar("_T")

DAY = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """The JetStream stream the hub publishes into.

    Attributes:
        name: Stream name (``settings.messaging.stream``).
        subject_prefix: Subjects are ``<prefix>.<event type>``; the stream holds ``<prefix>.>``.
        duplicate_window: Seconds the server remembers ``Nats-Msg-Id`` values. A relay that
            crashed between publish and mark re-publishes within seconds, well inside it.
        max_age: Seconds a message is kept; the outbox remains the source of truth beyond it.
    """

    name: str = "CONTRACTSYNC"
    subject_prefix: str = "contractsync"
    duplicate_window: float = 120.0
    max_age: float = 7 * DAY

    @property
    def subjects(self) -> str:
        """The wildcard the stream captures."""
        return f"{self.subject_prefix}.>"

    def subject_of(self, event: BusinessEvent) -> str:
        """The subject ``event`` is published on: ``<prefix>.<type>``."""
        return f"{self.subject_prefix}.{event.type.value}"


@dataclass(frozen=True, slots=True)
class Published:
    """The server's answer to one publish.

    Attributes:
        sequence: The stream sequence holding the event.
        duplicate: True when the server had the event id already and stored nothing.
    """

    sequence: int
    duplicate: bool


class JetStreamBus:
    """EventPublisher on NATS JetStream; also the connection the durable consumer uses.

    Nothing connects at construction; :meth:`connect` (or ``with``) does, and ensures the
    stream exists. Every publish carries ``Nats-Msg-Id`` = event id and waits for the PubAck,
    so a re-publish inside the duplicate window is dropped by the server, and ``publish``
    returning means the server stored the event. JetStream acknowledges before fsync unless
    the server runs with ``sync_interval: always``; the outbox stays the source of truth.

    Args:
        url: The NATS server URL (``settings.messaging.nats_url``).
        stream: The stream to publish into.
        timeout: Seconds to wait for a PubAck or any other server reply.
        connect_timeout: Seconds to wait for the first connection before giving up.
    """

    def __init__(
        self,
        url: str,
        stream: StreamSpec | None = None,
        *,
        timeout: float = 5.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.stream = stream or StreamSpec()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._last_error: str | None = None

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Start the loop thread, connect, and ensure the stream; idempotent.

        Raises:
            TransientError: The server is unreachable within ``connect_timeout``.
            ConfigError: A stream of that name exists but does not capture our subjects.
        """
        if self._client is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="nats-loop", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self.run(self._connect(), timeout=self.connect_timeout + 1.0)
            self.run(self._ensure_stream())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Drain and close the connection, then stop the loop thread; idempotent."""
        loop, thread, client = self._loop, self._thread, self._client
        self._client, self._js = None, None
        if loop is None or thread is None:
            return
        if client is not None and not client.is_closed:
            future = asyncio.run_coroutine_threadsafe(client.close(), loop)
            try:
                future.result(self.timeout)
            except (NatsError, OSError):
                future.cancel()  # closing is best effort: the server times the client out
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self.timeout)
        loop.close()
        self._loop, self._thread = None, None

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context (loop-thread only); raises ConfigError before ``connect``."""
        if self._js is None:
            raise ConfigError("the JetStream bus is not connected; call connect() first")
        return self._js

    def run(self, coroutine: Coroutine[Any, Any, _T], *, timeout: float | None = None) -> _T:
        """Run ``coroutine`` on the bus's loop thread and return its result.

        NATS and socket failures become TransientError here, the adapter's one error edge.

        Raises:
            TransientError: The server failed, timed out or is unreachable.
        """
        if self._loop is None:
            coroutine.close()
            raise ConfigError("the JetStream bus is not connected; call connect() first")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout if timeout is not None else self.timeout + 1.0)
        # TimeoutError is an OSError, and since 3.11 also the futures timeout: whether it was
        # our wait that expired or the coroutine that raised tells the two apart.
        except (NatsError, OSError) as exc:
            if not future.done():
                future.cancel()
                raise _unavailable(self.url, "no reply in time") from exc
            raise _unavailable(self.url, f"{type(exc).__name__}: {exc}") from exc

    def publish(self, event: BusinessEvent) -> None:
        """Publish ``event`` and wait for the PubAck (EventPublisher).

        Raises:
            TransientError: No PubAck (server down, timeout, stream missing).
        """
        self.publish_checked(event)

    def publish_checked(self, event: BusinessEvent) -> Published:
        """Publish ``event`` and return where the server stored it, or that it was a duplicate.

        Raises:
            TransientError: No PubAck (server down, timeout, stream missing).
        """
        ack: PubAck = self.run(self._publish(event))
        return Published(sequence=ack.seq, duplicate=bool(ack.duplicate))

    async def _publish(self, event: BusinessEvent) -> PubAck:
        return await self.jetstream.publish(
            self.stream.subject_of(event),
            encode(event),
            timeout=self.timeout,
            stream=self.stream.name,
            headers={"Nats-Msg-Id": event.id, "Content-Type": CONTENT_TYPE},
        )

    async def _connect(self) -> None:
        client = Client()

        async def remember(error: Exception) -> None:
            # nats-py logs every failed attempt with a traceback by default; keep the last
            # one for the error message instead of flooding the worker's log.
            self._last_error = f"{type(error).__name__}: {error}"

        try:
            # Reconnect forever once connected (a worker outlives NATS restarts), but bound
            # the first connection so a wrong URL fails start-up instead of hanging it.
            await asyncio.wait_for(
                client.connect(
                    self.url,
                    name="contractsync",
                    connect_timeout=max(1, min(2, int(self.connect_timeout))),
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,
                    error_cb=remember,
                ),
                self.connect_timeout,
            )
        except (TimeoutError, NatsError, OSError) as exc:
            await client.close()
            raise _unavailable(self.url, self._last_error or str(exc)) from exc
        self._client = client
        self._js = client.jetstream(timeout=self.timeout)

    async def _ensure_stream(self) -> None:
        js = self.jetstream
        spec = self.stream
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=spec.name,
                    subjects=[spec.subjects],
                    storage=StorageType.FILE,
                    retention=RetentionPolicy.LIMITS,
                    duplicate_window=spec.duplicate_window,
                    max_age=spec.max_age,
                )
            )
            return
        if spec.subjects not in (info.config.subjects or []):
            raise ConfigError(
                f"JetStream stream {spec.name} exists but does not capture {spec.subjects}",
                remediation="Use another stream name, or add the subjects to the stream.",
                detail={"stream": spec.name, "subjects": info.config.subjects},
            )


def _unavailable(url: str, reason: str) -> TransientError:
    return TransientError(
        f"NATS JetStream at {url} is unavailable: {reason}",
        code="events.bus_unavailable",
        remediation="Check that nats-server runs with JetStream (-js) at the configured URL.",
        detail={"url": url},
    )


__all__ = ["JetStreamBus", "Published", "StreamSpec"]
