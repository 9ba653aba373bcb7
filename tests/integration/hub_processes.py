"""Real ``contractsync serve`` and ``worker`` processes (with the test workflows) for integration tests."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contractsync.adapters.signatures import standard_webhooks
from tests.integration.test_worker_crash import _DIE_WITH_PARENT

HOOKED_CLI = [sys.executable, "-m", "contractsync.testing.workflow_hooks"]
"""The contractsync command line with the test workflows and the ``recorder`` handler."""

SECRET_VARIABLE = "HUB_PROCESSES_SECRET"
SECRET = "whsec_" + base64.b64encode(bytes(range(40, 72))).decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def hub_settings(
    database_url: str, *, bus: str = "inprocess", concurrency: int = 16
) -> dict[str, Any]:
    """A settings document: the ``recorder`` source (Standard Webhooks) and queue."""
    return {
        "database": {"url": database_url},
        "messaging": {"bus": bus},
        "engine": {
            "heartbeat_seconds": 0.5,
            "stale_after_seconds": 3.0,
            "queues": {"recorder": {"concurrency": concurrency}},
        },
        "ingress": {
            "sources": {
                "recorder": {"scheme": "standard_webhooks", "secrets": [{"env": SECRET_VARIABLE}]}
            }
        },
    }


def signed(event_id: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    """Standard Webhooks headers for one delivery of ``event_id`` (now, unless ``at``)."""
    stamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        **standard_webhooks.sign(SECRET, event_id, stamp, body),
    }


class HubProcesses:
    """Start ``serve`` and ``worker`` processes sharing one config; kill leftovers on exit.

    Every process runs with "die when the test process dies" set (see test_worker_crash).
    """

    def __init__(self, folder: Path, settings: dict[str, Any]) -> None:
        self.folder = folder
        self.config = folder / "contractsync.yaml"
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
        self.environment = {**os.environ, SECRET_VARIABLE: SECRET}
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    def __enter__(self) -> HubProcesses:
        return self

    def __exit__(self, *_exc: object) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    def _spawn(self, name: str, arguments: list[str]) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        command = [sys.executable, "-c", _DIE_WITH_PARENT, *HOOKED_CLI, *arguments]
        command += ["--config", str(self.config), "--poll-seconds", "0.1"]
        command += ["--grace-seconds", "5"]
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, stdout=sink, stderr=subprocess.STDOUT, env=self.environment
            )
        self.running[name], self.logs[name] = process, log
        return process

    def log_of(self, name: str) -> str:
        return self.logs[name].read_text("utf-8", "replace")

    def serve(self, *, no_workers: bool = False, executor_id: str = "api") -> str:
        """Start ``contractsync serve``; return its base URL once ``/readyz`` says ready."""
        port = free_port()
        arguments = ["serve", "--port", str(port)]
        arguments += ["--no-workers"] if no_workers else ["--executor-id", executor_id]
        process = self._spawn("serve", arguments)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    return base_url
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not become ready:\n{self.log_of('serve')}")
            time.sleep(0.1)

    def worker(self, executor_id: str) -> None:
        """Start ``contractsync worker`` and wait until it says it is ready."""
        process = self._spawn(executor_id, ["worker", "--executor-id", executor_id])
        ready = f"worker {executor_id} ready (pid {process.pid}"
        deadline = time.monotonic() + 90
        while ready not in self.log_of(executor_id):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{executor_id} did not start:\n{self.log_of(executor_id)}")
            time.sleep(0.05)

    def stop_all(self) -> dict[str, int | None]:
        """SIGTERM every process, then wait; return each exit code (None: had to be killed)."""
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, process in self.running.items():
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = None
        return codes
