"""Serve simulators as real HTTP(S) servers with uvicorn: in the foreground, or in a thread for tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contractsync.simulators.app import Simulator

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed certificate for loopback TLS; clients trust ``certfile`` (``verify=``)."""

    certfile: Path
    keyfile: Path


def self_signed_certificate(
    directory: Path, hosts: Sequence[str] = (LOOPBACK, "localhost")
) -> Certificate:
    """Write a one-day self-signed certificate for ``hosts`` into ``directory``.

    Some vendor SDKs (simple-salesforce) only speak ``https://``; this lets them reach a
    simulator on loopback without disabling verification: pass ``certfile`` as the CA bundle.

    Args:
        directory: Where ``simulator.crt`` and ``simulator.key`` are written.
        hosts: DNS names or IP addresses the certificate is valid for.

    Returns:
        The certificate and key paths.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contractsync simulator")])
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = directory / "simulator.crt", directory / "simulator.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(certfile, keyfile)


def _config(sim: Simulator, host: str, port: int, tls: Certificate | None) -> uvicorn.Config:
    return uvicorn.Config(
        sim.app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        # Vendors' load balancers keep idle connections a minute or more; uvicorn's 5 s
        # default would race clients reusing a connection the server is just closing.
        timeout_keep_alive=75,
        ssl_certfile=str(tls.certfile) if tls else None,
        ssl_keyfile=str(tls.keyfile) if tls else None,
    )


def serve(
    simulators: Sequence[tuple[Simulator, int]],
    *,
    host: str = LOOPBACK,
    tls: Certificate | None = None,
) -> None:
    """Serve each simulator on its port until interrupted (Ctrl-C); webhooks deliver on their own.

    Args:
        simulators: (simulator, port) pairs; all share one event loop.
        host: The interface to bind; keep loopback unless you know why not.
        tls: Serve HTTPS with this certificate.
    """
    servers = [uvicorn.Server(_config(sim, host, port, tls)) for sim, port in simulators]
    for sim, _ in simulators:
        sim.webhooks.start()

    async def run_all() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    try:
        asyncio.run(run_all())
    finally:
        for sim, _ in simulators:
            sim.webhooks.stop()


@contextmanager
def running(
    sim: Simulator,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    tls: Certificate | None = None,
    deliver_webhooks: bool = False,
) -> Iterator[str]:
    """Serve ``sim`` from a background thread for the ``with`` block; yield its base URL.

    Args:
        sim: The simulator.
        host: The interface to bind.
        port: The port; 0 picks a free one.
        tls: Serve HTTPS with this certificate.
        deliver_webhooks: Start the webhook delivery thread too.

    Yields:
        ``http://host:port`` (``https://`` with ``tls``).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]
    server = uvicorn.Server(_config(sim, host, bound_port, tls))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"sim-{sim.vendor}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {sim.vendor} simulator did not start on {host}:{bound_port}")
        time.sleep(0.01)
    if deliver_webhooks:
        sim.webhooks.start()
    try:
        yield f"{'https' if tls else 'http'}://{host}:{bound_port}"
    finally:
        sim.webhooks.stop()
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


__all__ = ["LOOPBACK", "Certificate", "running", "self_signed_certificate", "serve"]
