"""SalesforceCustomerDirectory against the simulator: idempotence under faults, errors, health."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from contractsync.adapters.http import RetryPolicy, resolve_ambiguous
from contractsync.adapters.salesforce import SalesforceCustomerDirectory
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.errors import AmbiguousCommitError, ConfigError, DataError, TransientError
from contractsync.simulators import FaultPlan
from contractsync.simulators.salesforce import SalesforceSimulator
from tests.adapters.salesforce.harness import settings

T = TypeVar("T")


def customer(key: str, **changes: object) -> Customer:
    values = {
        "id": key,
        "legal_name": f"{key} GmbH",
        "billing_country": "DE",
        "billing_region": "DE-BE",
    }
    return Customer.model_validate(values | changes)


@pytest.fixture
def sim() -> SalesforceSimulator:
    return SalesforceSimulator()


@pytest.fixture
def directory(sim: SalesforceSimulator) -> Iterator[SalesforceCustomerDirectory]:
    transport = sim.transport()
    yield SalesforceCustomerDirectory.connect(settings(), transport=transport)
    transport.close()


def engine_step(write: Callable[[], T], lookup: Callable[[], T | None]) -> T:
    """What the workflow engine does with one step: retry transients, settle ambiguity by lookup."""
    policy = RetryPolicy(max_attempts=12, base=0.001, cap=0.001)
    lookup_first = False
    for _ in range(20):
        try:
            return policy.run(
                lambda first=lookup_first: resolve_ambiguous(write, lookup, lookup_first=first),
                sleep=lambda _: None,
            )
        except AmbiguousCommitError:
            lookup_first = True
    raise AssertionError("the step never settled")


def test_fifty_customers_under_20_percent_errors_and_10_percent_lost_writes_make_fifty_accounts() -> (
    None
):
    plan = FaultPlan(seed=2026, server_error_rate=0.2, lost_response_rate=0.1)
    sim = SalesforceSimulator(faults=plan)
    directory = SalesforceCustomerDirectory.connect(settings(), transport=sim.transport())
    customers = [customer(f"chaos-{n:02d}") for n in range(50)]
    refs = [
        engine_step(
            lambda c=c: directory.upsert_account(c), lambda c=c: directory.find_account(c.id)
        )
        for c in customers
    ]
    accounts = sim.org.all_records("Account")
    assert len(accounts) == 50
    assert sorted(a["Canonical_Id__c"] for a in accounts) == [c.id for c in customers]
    assert len({r.id for r in refs}) == 50
    assert sim.injector.injected["server_error"] > 5
    assert sim.injector.injected["lost_response"] > 2


def test_upserting_twice_updates_the_one_account(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    first = directory.upsert_account(customer("c1"))
    second = directory.upsert_account(customer("c1", legal_name="Renamed GmbH"))
    assert first == second
    assert [a["Name"] for a in sim.org.all_records("Account")] == ["Renamed GmbH"]
    assert directory.find_account("c1") == first
    assert directory.find_account("unknown") is None


def test_api_45_updates_without_a_body_still_return_the_ref(sim: SalesforceSimulator) -> None:
    directory = SalesforceCustomerDirectory.connect(
        settings(api_version="45.0"), transport=sim.transport()
    )
    assert directory.upsert_account(customer("c1")) == directory.upsert_account(customer("c1"))


def test_duplicate_accounts_are_a_data_error_naming_them(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    ids = [
        sim.org.create("Account", {"Name": n, "Canonical_Id__c": "dup"})["Id"] for n in ("A", "B")
    ]
    for call in (
        lambda: directory.upsert_account(customer("dup")),
        lambda: directory.find_account("dup"),
    ):
        with pytest.raises(DataError) as caught:
            call()
        assert caught.value.code == "salesforce.duplicate_accounts"
        assert sorted(caught.value.detail["account_ids"]) == sorted(ids)
        assert all(i in caught.value.message for i in ids)


def test_a_refused_field_is_a_data_error_carrying_salesforces_errors(
    directory: SalesforceCustomerDirectory,
) -> None:
    with pytest.raises(DataError) as caught:
        # model_copy skips validation: the hub would refuse 300 characters before Salesforce.
        directory.upsert_account(customer("c1").model_copy(update={"legal_name": "y" * 300}))
    assert caught.value.detail["errors"][0]["errorCode"] == "STRING_TOO_LONG"
    assert caught.value.detail["vendor_code"] == "STRING_TOO_LONG"


def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    directory.upsert_account(customer("c1"))
    sim.org.expire_tokens()
    assert directory.find_account("c1") is not None


def test_a_refused_client_secret_is_a_config_error_without_the_secret(
    sim: SalesforceSimulator,
) -> None:
    directory = SalesforceCustomerDirectory.connect(
        settings(client_secret="wrong-secret"), transport=sim.transport()
    )
    with pytest.raises(ConfigError) as caught:
        directory.find_account("c1")
    assert caught.value.code == "salesforce.auth_refused"
    assert "wrong-secret" not in repr(caught.value.as_dict())


def test_an_exhausted_allocation_is_transient_with_the_configured_wait(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    directory.find_account("warm-up")
    sim.org.api_limit = sim.org.api_used
    with pytest.raises(TransientError) as caught:
        directory.upsert_account(customer("c1"))
    assert (caught.value.code, caught.value.retry_after) == ("remote.rate_limited", 7.0)
    health = directory.check()
    assert not health.ok
    assert "api-usage 1/1" in health.detail


def test_check_reports_the_daily_allowance(directory: SalesforceCustomerDirectory) -> None:
    health = directory.check()
    assert health.ok
    assert (health.system, health.version) == ("salesforce", "v62.0")
    assert health.detail == "API requests today: 1/15000 used, 14999 left"


def test_listing_walks_real_200_record_batches(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    for n in range(250):
        sim.org.create("Account", {"Name": f"A{n}", "Canonical_Id__c": f"k{n}"})
    sim.org.create("Account", {"Name": "Not synced"})
    first = directory.list_accounts(cursor=None, limit=50)
    assert len(first.items) == 200
    assert first.next_cursor is not None
    second = directory.list_accounts(cursor=first.next_cursor, limit=50)
    assert (len(second.items), second.next_cursor) == (50, None)
    with pytest.raises(DataError):
        directory.list_accounts(cursor="https://elsewhere.example/x", limit=50)


def test_a_won_opportunity_is_fetched_with_its_customer(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    ref = directory.upsert_account(customer("c1"))
    won = (
        sim.client()
        .post(
            "/_sim/scenarios/close_won_opportunity",
            json={
                "account_external_id": "c1",
                "amount": 99.99,
                "currency": "EUR",
                "contract_id": "ctr-1",
            },
        )
        .json()
    )
    opportunity = directory.fetch_opportunity(
        ExternalRef(system="salesforce", kind="Opportunity", id=won["id"])
    )
    assert opportunity.customer.id == "c1"
    assert ref in opportunity.customer.refs
    assert opportunity.contract_id == "ctr-1"
    assert opportunity.expected_value is not None
    assert str(opportunity.expected_value.amount) == "99.99"


def test_an_open_opportunity_is_not_a_won_one(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    account = sim.org.create("Account", {"Name": "A", "BillingCountryCode": "DE"})["Id"]
    open_deal = sim.org.create(
        "Opportunity",
        {"Name": "O", "AccountId": account, "StageName": "Prospecting", "CloseDate": "2026-01-01"},
    )["Id"]
    with pytest.raises(DataError) as caught:
        directory.fetch_opportunity(
            ExternalRef(system="salesforce", kind="Opportunity", id=open_deal)
        )
    assert caught.value.code == "salesforce.opportunity_not_won"


def test_an_account_made_by_hand_gets_its_canonical_id_written_back_not_duplicated(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    account = sim.org.create("Account", {"Name": "Hand Made Ltd", "BillingCountryCode": "GB"})["Id"]
    read = directory.fetch_customer(ExternalRef(system="salesforce", kind="Account", id=account))
    assert read.id == f"sf-{account}"
    assert directory.upsert_account(read) == directory.upsert_account(read)
    assert [a["Canonical_Id__c"] for a in sim.org.all_records("Account")] == [f"sf-{account}"]


def test_schema_drift_renaming_a_field_is_a_data_error_naming_it(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    ref = directory.upsert_account(customer("c1"))
    sim.injector.update(
        {"drift_renamed_fields": {"Name": "AccountName"}, "drift_extra_fields": {"New__c": 1}}
    )
    with pytest.raises(DataError) as caught:
        directory.fetch_customer(ref)
    assert caught.value.detail["fields"] == ["Name"]
    sim.injector.update({"drift_renamed_fields": {}})
    assert directory.fetch_customer(ref).legal_name == "c1 GmbH"


def test_a_token_refresh_resends_the_request_with_its_headers(
    sim: SalesforceSimulator, directory: SalesforceCustomerDirectory
) -> None:
    sim.org.min_batch_size = 1
    for n in range(3):
        directory.upsert_account(customer(f"c{n}"))
    sim.org.expire_tokens()
    page = directory.list_accounts(cursor=None, limit=2)
    assert (len(page.items), page.next_cursor is not None) == (2, True)
