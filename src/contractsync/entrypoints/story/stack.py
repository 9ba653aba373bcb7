"""Start the demo's parts on loopback and stop them again: real Tryton, the simulators and the hub.

The hub is started from the settings file ``hub_config`` writes, with the same parts
``contractsync serve`` runs (engine runtime, API, dispatch sweep, pollers), its API served
by uvicorn on a real port; the simulators are real HTTP servers whose webhooks the hub
receives over HTTP, signed as the vendors sign them. Nothing in the hub knows it is a demo.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contractsync.adapters.persistence.migrate import upgrade
from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.provisioning import provision
from contractsync.adapters.tryton.server import TrytonServer
from contractsync.adapters.tryton.site import TrytonSite
from contractsync.bootstrap import ApiContainer, build_api, build_dispatcher, build_polling_runner
from contractsync.config import Settings, load_settings
from contractsync.entrypoints.api import create_app
from contractsync.entrypoints.runtime import EngineRuntime, start_engine_runtime
from contractsync.entrypoints.serve import DispatchSweep
from contractsync.entrypoints.story.hub_config import Endpoints, HubKeys, write_hub_config
from contractsync.simulators.docusign import DocuSignSimulator
from contractsync.simulators.docusign_connect import ENVELOPE_EVENTS
from contractsync.simulators.ironclad import IroncladSimulator
from contractsync.simulators.kantata import KantataSimulator
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.simulators.server import LOOPBACK, running

Progress = Callable[[str, float], None]
"""Called with what is happening and the fraction of start-up done (0.0 to 1.0)."""

DOCUSIGN_INTEGRATION = "contractsync-demo-integration"


@dataclass
class Simulators:
    """The four SaaS vendors of the story, each served on its own loopback port."""

    ironclad: IroncladSimulator
    salesforce: SalesforceSimulator
    docusign: DocuSignSimulator
    kantata: KantataSimulator
    urls: dict[str, str] = field(default_factory=dict)

    def by_name(self) -> dict[str, Any]:
        """The simulators by vendor name."""
        return {
            "ironclad": self.ironclad,
            "salesforce": self.salesforce,
            "docusign": self.docusign,
            "kantata": self.kantata,
        }


class DemoStack:
    """Everything the story runs on; ``start()`` brings it up, ``stop()`` takes it down in reverse.

    Args:
        workdir: Where the Tryton database, the hub database, settings and secrets go.
        api_port: The hub API's loopback port; 0 picks a free one.
        on_progress: Told what is starting and how far start-up is.
    """

    def __init__(
        self, workdir: Path, *, api_port: int = 0, on_progress: Progress | None = None
    ) -> None:
        self.workdir = workdir
        self._api_port = api_port
        self._progress = on_progress or (lambda _what, _done: None)
        self._exits = ExitStack()
        self.settings: Settings | None = None
        self.config_path: Path | None = None
        self.api_url = ""
        self.keys: HubKeys | None = None
        self.tryton: TrytonSettings | None = None
        self.tryton_seconds = 0.0
        self.tryton_from_cache = False
        self.sims: Simulators | None = None
        self.container: ApiContainer | None = None
        self.runtime: EngineRuntime | None = None

    def start(self) -> DemoStack:
        """Provision and serve Tryton, start the simulators, write the settings, start the hub.

        Raises:
            ContractSyncError: a part cannot start (Tryton missing, a port taken ...);
                whatever had started is stopped again.
        """
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._start_tryton()
            sims = self._start_simulators()
            self._start_hub(sims)
            self._progress("ready", 1.0)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the hub, the simulators and Tryton (in that order); safe to call twice."""
        self._exits.close()

    # -- parts ---------------------------------------------------------------------------

    def _start_tryton(self) -> None:
        site = TrytonSite(self.workdir / "tryton", "demo")

        def on_progress(what: str, done: float) -> None:
            self._progress(f"Tryton: {what}", 0.7 * done)

        provisioned = provision(site, force=True, on_progress=on_progress)
        self.tryton_seconds, self.tryton_from_cache = provisioned.seconds, provisioned.from_cache
        self._progress("Tryton: starting trytond", 0.72)
        server = TrytonServer(site).start()
        self._exits.callback(server.stop)
        self.tryton = provisioned.settings(server.url)

    def _start_simulators(self) -> Simulators:
        self._progress("starting the vendor simulators", 0.78)
        docusign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sims = Simulators(
            ironclad=IroncladSimulator(),
            salesforce=SalesforceSimulator(min_batch_size=1),
            docusign=DocuSignSimulator(
                integrations={DOCUSIGN_INTEGRATION: docusign_key.public_key()}
            ),
            kantata=KantataSimulator(),
        )
        for name, sim in sims.by_name().items():
            sims.urls[name] = self._exits.enter_context(running(sim, deliver_webhooks=True))
        self.sims = sims
        self.keys = HubKeys.fresh(
            ironclad_public_pem=sims.ironclad.verification_key().encode(),
            docusign_private_pem=docusign_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return sims

    def _start_hub(self, sims: Simulators) -> None:
        assert self.tryton is not None
        assert self.keys is not None
        self._progress("starting the hub", 0.85)
        self.config_path = write_hub_config(
            self.workdir,
            endpoints=Endpoints(**{name: sims.urls[name] for name in sims.by_name()}),
            tryton=self.tryton,
            keys=self.keys,
            docusign_user=sims.docusign.account.user_id,
            docusign_integration=DOCUSIGN_INTEGRATION,
        )
        settings = self.settings = load_settings(self.config_path)
        upgrade(settings.database.url)
        runtime = self.runtime = start_engine_runtime(
            settings, executor_id="demo", poll_seconds=0.1
        )
        self._exits.callback(runtime.stop, grace_seconds=5)
        dispatcher = build_dispatcher(settings, engine=runtime.worker.engine)
        container = self.container = build_api(settings, dispatcher=dispatcher)
        self._exits.callback(container.close)
        self._progress("starting the hub's API", 0.92)
        self.api_url = self._serve_api(container)
        sweep = DispatchSweep(container, interval=2.0, grace=timedelta(seconds=5))
        sweep.start()
        self._exits.callback(sweep.stop)
        pollers = build_polling_runner(
            settings,
            uow_factory=container.uow_factory,
            dispatcher=container.dispatcher,
            clock=container.clock,
        )
        pollers.start()
        self._exits.callback(pollers.stop)
        self._subscribe(sims)

    def _serve_api(self, container: ApiContainer) -> str:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, self._api_port))
        port = listener.getsockname()[1]
        config = uvicorn.Config(
            create_app(container), log_level="warning", lifespan="off", timeout_keep_alive=75
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="demo-api", daemon=True
        )
        thread.start()

        def shut() -> None:
            server.should_exit = True
            thread.join(timeout=10)
            listener.close()

        self._exits.callback(shut)
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the hub API did not start on {LOOPBACK}:{port}")
            time.sleep(0.02)
        return f"http://{LOOPBACK}:{port}"

    def _subscribe(self, sims: Simulators) -> None:
        assert self.keys is not None
        sims.ironclad.webhooks.subscribe(f"{self.api_url}/webhooks/ironclad", "unused")
        sims.salesforce.webhooks.subscribe(
            f"{self.api_url}/webhooks/salesforce", self.keys.salesforce_secret, ["opportunity.won"]
        )
        # DocuSign Connect signs with every HMAC key of its configuration (rotation).
        connect_keys = json.dumps([self.keys.connect_key])
        sims.docusign.webhooks.subscribe(
            f"{self.api_url}/webhooks/docusign", connect_keys, sorted(ENVELOPE_EVENTS)
        )

    def tryton_client(self) -> TrytonClient:
        """A fresh JSON-RPC client logged in to the demo's Tryton (close it when done)."""
        assert self.tryton is not None
        return TrytonClient(self.tryton)


__all__ = ["DOCUSIGN_INTEGRATION", "DemoStack", "Simulators"]
