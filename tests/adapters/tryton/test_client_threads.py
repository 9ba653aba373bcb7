"""One Tryton client shared by concurrent workflow steps (the hub's embedded worker does this)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings


class SlowPreferences(httpx.BaseTransport):
    """Real HTTP to trytond, with the user's preferences answered slowly, as under load."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.logins = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        method = json.loads(request.content).get("method", "") if request.content else ""
        if method == "common.db.login":
            with self._lock:
                self.logins += 1
        if method == "model.res.user.get_preferences":
            time.sleep(0.3)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_threads_sharing_a_fresh_client_all_call_in_the_company(settings: TrytonSettings) -> None:
    transport = SlowPreferences()
    client = TrytonClient(settings, transport=transport)

    def company_projects(_: int) -> int:
        # Company-scoped: without the company in the context Tryton refuses or shows nothing.
        client.search("project.work", [("type", "=", "project")], limit=1)
        return client.company_id

    with ThreadPoolExecutor(max_workers=6) as pool:
        companies = list(pool.map(company_projects, range(6)))

    assert len(set(companies)) == 1
    assert transport.logins == 1
    client.close()
