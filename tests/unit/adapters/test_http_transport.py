"""map_transport_errors: a request never sent is transient; a write whose answer was lost is ambiguous."""

import socket
import threading

import httpx
import pytest

from contractsync.adapters.http import map_transport_errors
from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ContractSyncError,
    DataError,
    RejectedError,
    TransientError,
)

URL = "https://erp.example.com/record/v1/customer?apikey=hidden"


def failing(exception_class):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception_class("simulated", request=request)

    return httpx.Client(transport=httpx.MockTransport(handler))


def call(client: httpx.Client, *, is_write: bool):
    with map_transport_errors("netsuite", is_write=is_write):
        if is_write:
            return client.post(URL, json={"externalId": "C-1"})
        return client.get(URL)


def raised(exception_class, *, is_write: bool):
    with pytest.raises(ContractSyncError) as caught:
        call(failing(exception_class), is_write=is_write)
    return caught.value


@pytest.mark.parametrize(
    "exception_class",
    [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError],
)
@pytest.mark.parametrize("is_write", [True, False])
def test_a_request_that_never_left_is_transient_even_for_a_write(exception_class, is_write):
    error = raised(exception_class, is_write=is_write)
    assert type(error) is TransientError
    assert error.code == "remote.unreachable"
    assert isinstance(error.__cause__, exception_class)


@pytest.mark.parametrize(
    "exception_class",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.DecodingError,
    ],
)
def test_a_write_whose_response_was_lost_is_an_ambiguous_commit(exception_class):
    error = raised(exception_class, is_write=True)
    assert type(error) is AmbiguousCommitError
    assert error.detail["is_write"] is True
    assert isinstance(error.__cause__, exception_class)


@pytest.mark.parametrize(
    "exception_class", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError]
)
def test_a_read_whose_response_was_lost_is_transient(exception_class):
    error = raised(exception_class, is_write=False)
    assert type(error) is TransientError
    assert error.code == "remote.response_lost"


def test_the_error_names_the_request_without_its_query_string():
    error = raised(httpx.ReadTimeout, is_write=True)
    assert error.detail["method"] == "POST"
    assert error.detail["url"] == "https://erp.example.com/record/v1/customer"
    assert "hidden" not in str(error.as_dict())


@pytest.mark.parametrize("url", ["ftp://erp.example.com/x", "https://erp.example.com:abc/"])
def test_an_unusable_url_is_a_configuration_error(url):
    # The real transport refuses both before opening any connection.
    with (
        httpx.Client() as client,
        pytest.raises(ConfigError) as caught,
        map_transport_errors("netsuite", is_write=False),
    ):
        client.get(url)
    assert caught.value.code == "config.remote_url_invalid"


def test_a_request_httpx_refuses_to_send_is_rejected_as_our_bug():
    error = raised(httpx.LocalProtocolError, is_write=True)
    assert type(error) is RejectedError
    assert error.code == "remote.request_invalid"


def test_raise_for_status_inside_the_block_is_classified_like_any_response():
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(422, json={})))
    with pytest.raises(DataError) as caught, map_transport_errors("netsuite", is_write=True):
        client.post(URL).raise_for_status()
    assert caught.value.detail["status"] == 422
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)


def test_errors_that_are_not_httpx_pass_through_untouched():
    with pytest.raises(KeyError), map_transport_errors("netsuite", is_write=True):
        raise KeyError("not ours")


def test_async_calls_are_mapped_the_same_way():
    import asyncio

    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("simulated", request=request)

    async def post() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            with map_transport_errors("netsuite", is_write=True):
                await client.post(URL)

    with pytest.raises(AmbiguousCommitError):
        asyncio.run(post())


class SwallowingServer:
    """A loopback server that reads each whole request, then hangs up without answering."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            while len(body) < length:
                body += connection.recv(65536)
            self.received.append(body)

    def close(self) -> None:
        self.thread.join(timeout=5)
        self.listener.close()


def test_a_real_server_that_commits_and_hangs_up_gives_an_ambiguous_commit():
    server = SwallowingServer()
    try:
        with (
            httpx.Client(timeout=5) as client,
            pytest.raises(AmbiguousCommitError) as caught,
            map_transport_errors("netsuite", is_write=True),
        ):
            client.post(f"http://127.0.0.1:{server.port}/customer", json={"externalId": "C-1"})
    finally:
        server.close()
    assert server.received == [b'{"externalId":"C-1"}']
    assert caught.value.detail["exception"] == "RemoteProtocolError"


def test_a_real_refused_connection_is_transient_for_a_write():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with (
        httpx.Client(timeout=5) as client,
        pytest.raises(TransientError) as caught,
        map_transport_errors("netsuite", is_write=True),
    ):
        client.post(f"http://127.0.0.1:{port}/customer", json={})
    assert caught.value.code == "remote.unreachable"
