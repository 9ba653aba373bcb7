"""The simulator checked by an independent client: the real simple-salesforce library over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.adapters.salesforce.conftest import Served


@pytest.fixture
def sf(served: Served) -> Iterator[Salesforce]:
    session = requests.Session()
    # Without this, requests lets REQUESTS_CA_BUNDLE from the environment override ``verify``.
    session.trust_env = False
    session.verify = str(served.certificate.certfile)
    yield Salesforce(
        instance_url=served.url, session_id=served.token(), version="62.0", session=session
    )
    session.close()


def test_upsert_by_external_id_creates_with_201_then_updates_with_200(sf: Salesforce) -> None:
    assert sf.Account.upsert("Canonical_Id__c/cust-1", {"Name": "Acme"}) == 201
    assert sf.Account.upsert("Canonical_Id__c/cust-1", {"Name": "Acme Corp"}) == 200
    record = sf.Account.get_by_custom_id("Canonical_Id__c", "cust-1")
    assert record["Name"] == "Acme Corp"
    created = sf.Account.upsert("Canonical_Id__c/cust-2", {"Name": "B"}, raw_response=True)
    assert created.json()["created"] is True


def test_upsert_on_api_45_answers_204_without_a_body(served: Served, sf: Salesforce) -> None:
    old = Salesforce(
        instance_url=served.url, session_id=sf.session_id, version="45.0", session=sf.session
    )
    assert old.Account.upsert("Canonical_Id__c/cust-1", {"Name": "Acme"}) == 201
    response = old.Account.upsert("Canonical_Id__c/cust-1", {"Name": "Acme"}, raw_response=True)
    assert (response.status_code, response.content) == (204, b"")


def test_an_external_id_held_by_two_accounts_answers_300_listing_both(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "One", "Canonical_Id__c": "dup"})["id"]
    second = sf.Account.create({"Name": "Two", "Canonical_Id__c": "dup"})["id"]
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Account.upsert("Canonical_Id__c/dup", {"Name": "Three"})
    assert sorted(url.rsplit("/", 1)[1] for url in caught.value.content) == sorted([first, second])
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.get_by_custom_id("Canonical_Id__c", "dup")


def test_validation_errors_arrive_as_the_error_array(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.create({"Industry": "Consulting"})
    assert caught.value.content == [
        {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Opportunity.create({"Name": "O", "StageName": "Won-ish", "CloseDate": "2026-01-01"})
    assert caught.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.content[0]["fields"] == ["StageName"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get("001Sm0000009999IAA")


def test_crud_create_get_update_delete(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Crud", "BillingCountryCode": "DE"})
    assert created["success"] is True
    assert created["errors"] == []
    assert sf.Account.update(created["id"], {"Name": "Crud 2"}) == 204
    assert sf.Account.get(created["id"])["Name"] == "Crud 2"
    assert sf.Account.delete(created["id"]) == 204


def test_every_answer_reports_api_usage_and_simple_salesforce_parses_it(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Counted"})
    sf.query("SELECT Id FROM Account")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (2, 15000)


def test_an_exhausted_daily_allocation_answers_403_request_limit_exceeded(
    served: Served, sf: Salesforce
) -> None:
    served.sim.client().post("/_sim/scenarios/set_api_allowance", json={"limit": 1, "used": 1})
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.Account.create({"Name": "Too many"})
    assert caught.value.content == [
        {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
            "fields": [],
        }
    ]


def test_query_pages_with_next_records_url_and_query_all_follows_them(
    served: Served, sf: Salesforce
) -> None:
    for n in range(250):
        served.sim.org.create("Account", {"Name": f"A{n:03d}", "Canonical_Id__c": f"c{n}"})
    first = sf.query("SELECT Id, Name FROM Account WHERE Name != null ORDER BY Name")
    assert (first["totalSize"], first["done"], len(first["records"])) == (250, True, 250)
    sf.headers["Sforce-Query-Options"] = "batchSize=200"
    paged = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert (paged["done"], len(paged["records"])) == (False, 200)
    assert paged["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    everything = sf.query_all("SELECT Name FROM Account ORDER BY Name")
    assert [r["Name"] for r in everything["records"]] == [f"A{n:03d}" for n in range(250)]
    single = sf.query("SELECT Name FROM Account WHERE Canonical_Id__c = 'c7'")
    assert [r["Name"] for r in single["records"]] == ["A007"]
    assert single["records"][0]["attributes"]["type"] == "Account"


def test_a_malformed_query_is_refused_with_malformed_query(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT FROM")
    assert caught.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Nope__c FROM Account")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_composite_resolves_references_and_always_answers_200(sf: Salesforce) -> None:
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "acc",
                    "body": {"Name": "Parent"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Opportunity",
                    "referenceId": "opp",
                    "body": {
                        "Name": "Deal",
                        "AccountId": "@{acc.id}",
                        "StageName": "Prospecting",
                        "CloseDate": "2026-06-30",
                    },
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/sobjects/Opportunity/@{opp.id}",
                    "referenceId": "read",
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "bad",
                    "body": {},
                },
            ],
        },
    )
    statuses = [(r["referenceId"], r["httpStatusCode"]) for r in answer["compositeResponse"]]
    assert statuses == [("acc", 201), ("opp", 201), ("read", 200), ("bad", 400)]
    read = answer["compositeResponse"][2]["body"]
    assert read["AccountId"] == answer["compositeResponse"][0]["body"]["id"]
    assert sf.api_usage["api-usage"].used == 1


def test_composite_all_or_none_rolls_everything_back(served: Served, sf: Salesforce) -> None:
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "ok",
                    "body": {"Name": "Rolled back"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "bad",
                    "body": {"Nope__c": 1},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "never",
                    "body": {"Name": "Never"},
                },
            ],
        },
    )
    codes = [r["body"][0]["errorCode"] for r in answer["compositeResponse"]]
    assert codes == ["PROCESSING_HALTED", "INVALID_FIELD", "PROCESSING_HALTED"]
    assert served.sim.org.all_records("Account") == []


def test_composite_refuses_more_than_25_subrequests(sf: Salesforce) -> None:
    request = {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "r"}
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite", method="POST", json={"compositeRequest": [request] * 26})


def test_an_expired_session_raises_simple_salesforces_expired_session(
    served: Served, sf: Salesforce
) -> None:
    served.sim.client().post("/_sim/scenarios/expire_tokens", json={})
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.Account.create({"Name": "Late"})
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
