"""Start and stop a local ``trytond`` on loopback, ready when its JSON-RPC endpoint answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from contractsync.adapters.tryton.site import TrytonSite, tryton_command
from contractsync.errors import ConfigError, TransientError

LOOPBACK = "127.0.0.1"
_JSON = {"Content-Type": "application/json"}


def free_port() -> int:
    """Return a TCP port on loopback that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class TrytonServer:
    """A ``trytond`` subprocess serving one database on ``127.0.0.1:<port>``.

    Started with ``-d <database>`` because trytond 8.2.1 fails every login on a database
    that was not pre-loaded at start. Use it as a context manager, or call ``start`` and
    ``stop``; output goes to ``<site>/logs/trytond-<port>.log``.

    Args:
        site: The provisioned site to serve.
        port: TCP port; a free one is picked when ``None``.
        start_timeout: Seconds to wait for the first JSON-RPC answer.
    """

    def __init__(self, site: TrytonSite, port: int | None = None, start_timeout: float = 60.0):
        self.site = site
        self._auto_port = port is None
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server (the database path is added by the client)."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log_file(self) -> Path:
        """Where the server writes its output."""
        return self.site.log_dir / f"trytond-{self.port}.log"

    @property
    def running(self) -> bool:
        """True while the subprocess is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start trytond and block until it answers ``common.server.version``.

        Raises:
            ConfigError: if the site has no config file or Tryton is not installed.
            TransientError: if the server exits or does not answer within the timeout.
        """
        missing_db = self.site.is_sqlite and not self.site.sqlite_file.exists()
        if missing_db or not self.site.config_file.exists():
            raise ConfigError(
                f"No trytond config under {self.site.root}.",
                code="tryton.not_provisioned",
                remediation="Run `contractsync erp tryton init` first.",
            )
        self.site.log_dir.mkdir(parents=True, exist_ok=True)
        # A port picked free can be taken before trytond binds it: then pick another.
        attempts = 3 if self._auto_port else 1
        for attempt in range(1, attempts + 1):
            self._spawn()
            try:
                self._wait_ready()
                return self
            except TransientError as error:
                self.stop()
                if error.code != "tryton.server_exited" or attempt == attempts:
                    raise
                self.port = free_port()
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # the loop returns or raises

    def _spawn(self) -> None:
        env = {**os.environ, "TRYTOND_WEB__LISTEN": f"{LOOPBACK}:{self.port}"}
        command = [tryton_command("trytond"), "-c", str(self.site.config_file)]
        command += ["-d", self.site.database]
        self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(  # fixed command, no shell
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        body = b'{"id":0,"method":"common.server.version","params":[]}'
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if not self.running:
                    raise TransientError(
                        f"trytond exited during start; see {self.log_file}.",
                        code="tryton.server_exited",
                        detail={"log": str(self.log_file)},
                    )
                try:
                    reply = http.post(f"{self.url}/rpc/", content=body, headers=_JSON)
                    # Still alive after answering: the reply came from our trytond, not
                    # from another server that already held the port.
                    if reply.status_code == 200 and self.running:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(0.1)
        raise TransientError(
            f"trytond did not answer within {self.start_timeout:.0f} s; see {self.log_file}.",
            code="tryton.server_timeout",
        )

    def wait(self) -> int:
        """Block until the server exits (for a foreground ``serve``); return its exit code."""
        if self._process is None:
            return 0
        return self._process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
