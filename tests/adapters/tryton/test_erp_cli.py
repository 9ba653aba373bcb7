import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from contractsync.adapters.tryton.provisioning import ProvisionedDatabase
from contractsync.adapters.tryton.server import free_port
from contractsync.entrypoints.erp_cli import erp_app


def test_tryton_init_says_where_the_database_is_and_how_to_serve_it(
    tmp_path: Path, provisioned: ProvisionedDatabase
) -> None:
    # `provisioned` guarantees the template is cached, so this init is a file copy.
    runner = CliRunner()
    args = ["tryton", "init", "--root", str(tmp_path), "--database", "cli"]
    first = runner.invoke(erp_app, args)
    assert first.exit_code == 0, first.output
    assert str(tmp_path / "db" / "cli.sqlite") in first.output
    assert "contractsync erp tryton serve" in first.output
    again = runner.invoke(erp_app, args)
    assert again.exit_code == 1
    assert "already exists" in again.output
    forced = runner.invoke(erp_app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "from the cached template" in forced.output


def test_tryton_serve_answers_json_rpc_and_stops_cleanly_on_ctrl_c(
    provisioned: ProvisionedDatabase,
) -> None:
    site, port = provisioned.site, free_port()
    code = "from contractsync.entrypoints.erp_cli import erp_app; erp_app()"
    args = ["tryton", "serve", "--root", str(site.root), "--database", site.database]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # As from a terminal: a test run started in the background (`make test &`) has
        # SIGINT ignored, and the child would inherit that and never see the Ctrl-C.
        preexec_fn=_interruptible,
    )
    try:
        body = {"id": 1, "method": "common.server.version", "params": []}
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/rpc/", json=body, timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "trytond never answered"
                time.sleep(0.2)
        assert reply.json()["result"].startswith("8.2")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        try:
            httpx.post(f"http://127.0.0.1:{port}/rpc/", json=body, timeout=2)
            raise AssertionError("trytond still answers after Ctrl-C")
        except httpx.ConnectError:
            pass
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
