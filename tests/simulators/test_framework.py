"""The simulator framework: seeded faults, the operator API, transports and the registry."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from contractsync.entrypoints.cli import app
from contractsync.errors import ConfigError
from contractsync.simulators import (
    AsyncSimulatorTransport,
    FaultInjector,
    FaultPlan,
    build_simulator,
)
from contractsync.simulators.faults import drift
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.simulators.server import running

TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "sim-client",
    "client_secret": "sim-secret",
}


def decisions(plan: FaultPlan, n: int = 200) -> list[str | None]:
    injector = FaultInjector(plan)
    return [injector.decide("PATCH", "/services/data/x")[0] for _ in range(n)]


def authed(sim: SalesforceSimulator) -> httpx.Client:
    client = sim.client()
    token = client.post("/services/oauth2/token", data=TOKEN_FORM).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_the_same_seed_injects_the_same_faults_in_the_same_order() -> None:
    plan = FaultPlan(seed=42, server_error_rate=0.2, lost_response_rate=0.1)
    assert decisions(plan) == decisions(plan)
    assert decisions(plan) != decisions(plan.model_copy(update={"seed": 43}))


def test_fault_rates_are_roughly_what_the_plan_says() -> None:
    found = decisions(FaultPlan(seed=1, server_error_rate=0.2), n=2000)
    assert 300 < found.count("server_error") < 500


def test_a_script_forces_the_next_faults_and_lost_responses_wait_for_a_write() -> None:
    injector = FaultInjector(FaultPlan(script=["rate_limit", "lost_response"]))
    assert injector.decide("GET", "/a")[0] == "rate_limit"
    assert injector.decide("GET", "/a")[0] is None
    assert injector.decide("POST", "/a")[0] == "lost_response"
    assert injector.decide("POST", "/a")[0] is None


def test_operator_routes_and_unlisted_paths_are_never_faulted() -> None:
    injector = FaultInjector(FaultPlan(server_error_rate=1.0, paths=["/services/data"]))
    assert injector.decide("GET", "/_sim/state")[0] is None
    assert injector.decide("POST", "/services/oauth2/token")[0] is None
    assert injector.decide("GET", "/services/data/v62.0/limits")[0] == "server_error"


def test_writes_only_spares_reads() -> None:
    injector = FaultInjector(FaultPlan(server_error_rate=1.0, writes_only=True))
    assert injector.decide("GET", "/x")[0] is None
    assert injector.decide("PATCH", "/x")[0] == "server_error"


def test_schema_drift_adds_unknown_fields_and_renames_one_at_every_depth() -> None:
    plan = FaultPlan(drift_extra_fields={"Extra__c": 1}, drift_renamed_fields={"Name": "Name__new"})
    drifted = drift({"records": [{"Name": "Acme", "Id": "1"}]}, plan)
    assert drifted == {"records": [{"Name__new": "Acme", "Id": "1", "Extra__c": 1}], "Extra__c": 1}


def test_the_operator_api_changes_faults_at_runtime_and_reset_restores_the_run_plan() -> None:
    sim = SalesforceSimulator(faults=FaultPlan(seed=3))
    client = authed(sim)
    assert client.patch("/_sim/faults", json={"server_error_rate": 1.0}).status_code == 200
    assert client.get("/services/data/v62.0/limits").status_code == 500
    assert client.post("/_sim/faults/script", json={"faults": ["rate_limit"]}).status_code == 200
    assert client.get("/services/data/v62.0/limits").status_code == 403
    assert client.get("/_sim/stats").json()["injected"] == {"server_error": 1, "rate_limit": 1}
    assert client.post("/_sim/reset").json() == {"status": "reset"}
    assert client.get("/_sim/faults").json()["server_error_rate"] == 0.0
    assert client.patch("/_sim/faults", json={"server_error_rate": 7}).status_code == 422


def test_the_operator_api_describes_and_runs_scenarios() -> None:
    sim = SalesforceSimulator()
    client = sim.client()
    described = client.get("/_sim").json()
    assert "close_won_opportunity" in described["scenarios"]
    assert client.post("/_sim/scenarios/nope", json={}).status_code == 404
    assert client.post("/_sim/scenarios/set_api_allowance", json={"limit": -1}).status_code == 422
    created = client.post(
        "/_sim/scenarios/create_record", json={"sobject": "Account", "fields": {"Name": "Acme"}}
    )
    assert created.status_code == 200
    state = client.get("/_sim/state").json()
    assert [a["Name"] for a in state["records"]["Account"]] == ["Acme"]


def test_in_process_timeouts_and_lost_responses_raise_what_a_socket_would() -> None:
    sim = SalesforceSimulator()
    client = authed(sim)
    sim.injector.force("timeout", "lost_response")
    with pytest.raises(httpx.ReadTimeout):
        client.get("/services/data/v62.0/limits")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/services/data/v62.0/sobjects/Account/", json={"Name": "Lost"})
    assert [a["Name"] for a in sim.org.all_records("Account")] == ["Lost"]


def test_a_real_server_drops_the_connection_after_committing_a_lost_write() -> None:
    sim = SalesforceSimulator()
    with running(sim) as url, httpx.Client(base_url=url) as client:
        token = client.post("/services/oauth2/token", data=TOKEN_FORM).json()["access_token"]
        sim.injector.force("lost_response")
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(
                "/services/data/v62.0/sobjects/Account/",
                json={"Name": "Committed"},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert [a["Name"] for a in sim.org.all_records("Account")] == ["Committed"]


def test_the_registry_builds_simulators_by_name_and_refuses_unknown_ones() -> None:
    assert isinstance(build_simulator("salesforce"), SalesforceSimulator)
    with pytest.raises(ConfigError, match="no simulator is called 'nope'"):
        build_simulator("nope")


def test_the_sim_command_needs_exactly_one_of_vendor_or_all() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["sim"]).exit_code != 0
    assert runner.invoke(app, ["sim", "--vendor", "salesforce", "--all"]).exit_code != 0
    result = runner.invoke(app, ["sim", "--vendor", "nope"])
    assert result.exit_code != 0
    assert "no simulator" in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_contractsync_sim_serves_the_vendor_and_its_operator_api_until_stopped() -> None:
    port = free_port()
    command = [sys.executable, "-c", "from contractsync.entrypoints.cli import main; main()"]
    process = subprocess.Popen(
        [
            *command,
            "sim",
            "--vendor",
            "salesforce",
            "--port",
            str(port),
            "--faults",
            '{"latency_ms": 1}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                described = httpx.get(f"http://127.0.0.1:{port}/_sim", timeout=1).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout and process.stdout.read()
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.2)
        assert described["vendor"] == "salesforce"
        assert described["faults"]["latency_ms"] == 1
        token = httpx.post(f"http://127.0.0.1:{port}/services/oauth2/token", data=TOKEN_FORM)
        assert token.json()["instance_url"] == f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_async_transport_mounts_a_simulator_for_async_clients() -> None:
    sim = SalesforceSimulator()

    async def exchange() -> tuple[int, type[Exception]]:
        async with httpx.AsyncClient(
            transport=AsyncSimulatorTransport(sim.app), base_url="https://sf.test"
        ) as client:
            token = await client.post("/services/oauth2/token", data=TOKEN_FORM)
            sim.injector.force("lost_response")
            try:
                await client.post("/services/data/v62.0/sobjects/Account/", json={"Name": "A"})
            except httpx.RemoteProtocolError as exc:
                return token.status_code, type(exc)
            raise AssertionError("the lost response was not simulated")

    assert asyncio.run(exchange()) == (200, httpx.RemoteProtocolError)
