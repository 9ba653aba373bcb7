import time
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.errors import from_rpc_error
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.adapters.tryton.server import free_port
from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ConflictError,
    DataError,
    RejectedError,
    TransientError,
)


def test_a_missing_required_value_is_a_data_error_with_trytons_message(
    client: TrytonClient,
) -> None:
    with pytest.raises(DataError, match="A value is required") as caught:
        client.create("project.work", [{"type": "project"}])
    assert caught.value.code == "tryton.validation"


def test_an_invalid_vat_number_is_a_data_error(client: TrytonClient, tag: str) -> None:
    bad = {
        "name": f"Bad VAT {tag}",
        "identifiers": [["create", [{"type": "eu_vat", "code": "DE123456789"}]]],
    }
    with pytest.raises(DataError, match="is not valid"):
        client.create("party.party", [bad])


def test_a_business_rule_refusal_is_a_rejected_error(
    client: TrytonClient, records: TrytonRecords, tag: str
) -> None:
    fee = records.ensure_product(f"FEE-{tag}", "Milestone fee", "u")
    done = {
        "name": "M1",
        "type": "task",
        "product": fee,
        "list_price": Decimal(100),
        "progress": 1.0,
    }
    work = client.create(
        "project.work",
        [
            {
                "name": f"No party {tag}",
                "type": "project",
                "project_invoice_method": "effort",
                "children": [["create", [done]]],
            }
        ],
    )
    with pytest.raises(RejectedError, match="There is no party") as caught:
        client.execute("project.work", "invoice", work)
    assert caught.value.code == "tryton.rejected"
    assert not isinstance(caught.value, DataError)


def test_a_bad_password_is_a_config_error_without_the_password(settings: TrytonSettings) -> None:
    wrong = settings.model_copy(update={"password": SecretStr("not-the-password")})
    with TrytonClient(wrong) as client, pytest.raises(ConfigError) as caught:
        client.login()
    assert caught.value.code == "tryton.bad_credentials"
    assert "not-the-password" not in repr(caught.value.as_dict())


def test_an_unknown_database_is_a_config_error(settings: TrytonSettings) -> None:
    unknown = settings.model_copy(update={"database": "nope"})
    with TrytonClient(unknown) as client, pytest.raises(ConfigError) as caught:
        client.login()
    assert caught.value.code == "tryton.database_not_found"


def test_a_write_with_a_stale_timestamp_is_a_conflict(client: TrytonClient, tag: str) -> None:
    party = client.create("party.party", [{"name": f"Stamp {tag}"}])[0]
    stamp = client.read("party.party", [party], ["_timestamp"])[0]["_timestamp"]
    client.write("party.party", [party], {"name": f"Stamp {tag} (edited elsewhere)"})
    with pytest.raises(ConflictError) as caught:
        client.write("party.party", [party], {"name": f"Stamp {tag} v2"}, timestamps={party: stamp})
    assert caught.value.code == "tryton.concurrent_edit"
    fresh = client.read("party.party", [party], ["_timestamp"])[0]["_timestamp"]
    client.write("party.party", [party], {"name": f"Stamp {tag} v2"}, timestamps={party: fresh})


def test_a_refused_connection_is_transient(settings: TrytonSettings) -> None:
    nowhere = settings.model_copy(update={"url": f"http://127.0.0.1:{free_port()}"})
    with TrytonClient(nowhere) as client, pytest.raises(TransientError) as caught:
        client.login()
    assert caught.value.code == "tryton.unreachable"


def test_a_write_whose_reply_times_out_is_an_ambiguous_commit(
    settings: TrytonSettings, client: TrytonClient, tag: str
) -> None:
    parties = [{"name": f"Slow {tag} {i}"} for i in range(300)]
    with TrytonClient(settings) as slow:
        # Log in with the normal timeout: trytond slows logins down after a failed one (an
        # earlier test), and only the write itself should run out of time.
        slow.login()
        slow._http.timeout = httpx.Timeout(1.0, connect=settings.connect_timeout_seconds)
        with pytest.raises(AmbiguousCommitError) as caught:
            slow.create("party.party", parties)
    assert caught.value.code == "tryton.ambiguous_commit"
    # The server finishes the write after the client gave up: that is the ambiguity.
    # Waiting for it also frees the SQLite write lock before the next test.
    deadline = time.monotonic() + 60
    while client.search_count("party.party", [("name", "like", f"Slow {tag} %")]) < len(parties):
        assert time.monotonic() < deadline, "the timed-out create never committed"
        time.sleep(0.2)


def test_a_sequence_number_taken_by_a_concurrent_create_is_transient() -> None:
    # Seen with trytond on SQLite when two projects are created at once: both draw the same
    # number from ir.sequence and the second create fails the unique constraint.
    reply = ["UserError", ["The number on work must be unique.", "", None]]

    error = from_rpc_error(reply, method="model.project.work.create")

    assert isinstance(error, TransientError)
    assert error.code == "tryton.number_taken"


def test_a_party_code_taken_by_a_concurrent_attempt_is_transient() -> None:
    # The retry's search-before-create then finds the party the other attempt created.
    reply = ["UserError", ["The code on party must be unique.", "", None]]

    error = from_rpc_error(reply, method="model.party.party.create")

    assert isinstance(error, TransientError)


def test_any_other_unique_constraint_is_still_a_data_error() -> None:
    reply = ["UserError", ["The name of the product must be unique per company.", "", None]]

    error = from_rpc_error(reply, method="model.product.template.create")

    assert isinstance(error, DataError)
    assert error.code == "tryton.validation"
