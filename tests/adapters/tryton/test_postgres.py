import uuid
from pathlib import Path

import pytest

from contractsync.adapters.tryton import postgres
from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.provisioning import provision
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.adapters.tryton.server import TrytonServer
from contractsync.adapters.tryton.site import TrytonSite

PG_URL = "postgresql://127.0.0.1:5432/"


@pytest.mark.postgres
def test_provisioning_on_postgresql_clones_a_ready_database_that_serves_the_hub(
    tmp_path: Path,
) -> None:
    site = TrytonSite(tmp_path, f"contractsync_test_{uuid.uuid4().hex[:12]}", PG_URL)
    try:
        result = provision(site)
        assert postgres.database_exists(PG_URL, site.database)
        assert f"uri = {PG_URL}" in site.config_file.read_text()
        with TrytonServer(site) as server, TrytonClient(result.settings(server.url)) as client:
            found = client.check()
            assert found.company_id == result.company_id
            assert found.currency == "EUR"
            records = TrytonRecords(client)
            party = records.ensure_party("PG-1", "Globex on PostgreSQL", country="DE")
            assert records.ensure_party("PG-1", "Globex on PostgreSQL", country="DE") == party
            assert client.search_count("party.party", [("code", "=", "PG-1")]) == 1
    finally:
        postgres.drop_database(PG_URL, site.database)
    assert not postgres.database_exists(PG_URL, site.database)
