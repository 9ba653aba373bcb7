"""The simulator checked by an independent client: hand-built httpx requests over loopback.

Each request is written from the documented SuiteTalk REST format (``reference/vendors.md``
§4), not through the adapter.
"""

from __future__ import annotations

import threading

import httpx

from tests.adapters.netsuite.conftest import RECORDS, TOKEN_PATH, Served, assertion, token_form

CUSTOMER = {"companyName": "Acme GmbH", "subsidiary": {"id": "1"}}


def test_create_answers_204_with_the_new_records_location(served: Served) -> None:
    with served.api() as api:
        created = api.post(f"{RECORDS}/customer", json=CUSTOMER)
        assert (created.status_code, created.content) == (204, b"")
        location = created.headers["Location"]
        assert location.startswith(f"{served.url}{RECORDS}/customer/")
        record = api.get(location).json()
    assert record["id"] == location.rsplit("/", 1)[1]
    assert record["companyName"] == "Acme GmbH"
    assert record["subsidiary"]["id"] == "1"


def test_put_by_external_id_creates_then_updates_the_same_record(served: Served) -> None:
    with served.api() as api:
        first = api.put(f"{RECORDS}/customer/eid:CUST-1", json=CUSTOMER)
        second = api.put(f"{RECORDS}/customer/eid:CUST-1", json={"companyName": "Acme AG"})
        by_eid = api.get(f"{RECORDS}/customer/eid:CUST-1")
    assert first.status_code == second.status_code == 204
    assert first.headers["Location"] == second.headers["Location"]
    assert by_eid.json()["companyName"] == "Acme AG"
    assert by_eid.json()["externalId"] == "CUST-1"
    assert by_eid.json()["subsidiary"]["id"] == "1"  # omitted on update: unchanged


def test_patch_leaves_omitted_fields_null_clears_and_unkeyed_sublists_append(
    served: Served,
) -> None:
    address = {"addressBook": {"items": [{"label": "HQ"}]}}
    with served.api() as api:
        api.put(f"{RECORDS}/customer/eid:C-2", json={**CUSTOMER, "email": "a@b.c", **address})
        api.patch(f"{RECORDS}/customer/eid:C-2", json={"email": None, **address})
        appended = api.get(f"{RECORDS}/customer/eid:C-2?expandSubResources=true").json()
        api.patch(f"{RECORDS}/customer/eid:C-2?replace=addressBook", json=address)
        replaced = api.get(f"{RECORDS}/customer/eid:C-2?expandSubResources=true").json()
        linked = api.get(f"{RECORDS}/customer/eid:C-2").json()
    assert "email" not in appended
    assert appended["companyName"] == "Acme GmbH"
    assert len(appended["addressBook"]["items"]) == 2
    assert len(replaced["addressBook"]["items"]) == 1
    assert "items" not in linked["addressBook"]
    assert linked["addressBook"]["links"]


def test_collections_page_with_links_and_has_more(served: Served) -> None:
    with served.api() as api:
        for n in range(5):
            api.put(f"{RECORDS}/customer/eid:P-{n}", json=CUSTOMER)
        first = api.get(f"{RECORDS}/customer", params={"limit": 2}).json()
        rels = {link["rel"]: link["href"] for link in first["links"]}
        second = api.get(rels["next"]).json()
        last = api.get(rels["last"]).json()
    assert {k: first[k] for k in ("count", "hasMore", "offset", "totalResults")} == {
        "count": 2,
        "hasMore": True,
        "offset": 0,
        "totalResults": 5,
    }
    assert {"self", "first", "next", "last"} <= rels.keys()
    assert second["offset"] == 2
    assert second["hasMore"] is True
    assert (last["offset"], last["count"], last["hasMore"]) == (4, 1, False)
    ids = [i["id"] for page in (first, second, last) for i in page["items"]]
    assert len(set(ids)) == 5
    assert all(i["links"][0]["rel"] == "self" for i in first["items"])


def test_errors_are_rfc7807_with_o_error_details(served: Served) -> None:
    order = {"entity": {"id": "9999"}, "item": {"items": []}}
    with served.api() as api:
        refused = api.post(f"{RECORDS}/salesOrder", json=order)
        missing = api.get(f"{RECORDS}/customer/eid:NOPE")
    body = refused.json()
    assert refused.status_code == 400
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["title"] == "Bad Request"
    assert body["status"] == 400
    assert body["type"].startswith("https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html")
    detail = body["o:errorDetails"][0]
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_CONTENT", "entity")
    assert "Invalid Field Value 9999" in detail["detail"]
    assert missing.status_code == 404
    assert missing.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"


def test_a_request_without_a_valid_token_is_refused_with_invalid_login(served: Served) -> None:
    with served.http() as client:
        refused = client.get(f"{RECORDS}/customer", headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401
    assert refused.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_the_token_endpoint_checks_the_assertions_structure(served: Served) -> None:
    url = f"{served.url}{TOKEN_PATH}"
    with served.http() as client:
        good = client.post(TOKEN_PATH, data=token_form(url))
        wrong_kid = client.post(
            TOKEN_PATH, data=token_form(url, client_assertion=assertion(url, kid="x"))
        )
        too_long = client.post(
            TOKEN_PATH, data=token_form(url, client_assertion=assertion(url, lifetime=7200))
        )
        other_audience = client.post(
            TOKEN_PATH, data=token_form(url, client_assertion=assertion("https://elsewhere/token"))
        )
    assert good.status_code == 200
    assert good.json()["token_type"] == "bearer"
    assert good.json()["expires_in"] == "3600"
    assert wrong_kid.json()["error"] == "invalid_client"
    assert too_long.json()["error"] == "invalid_grant"
    assert other_audience.status_code == 400


def test_the_sixth_concurrent_request_gets_429_with_o_error_details(served: Served) -> None:
    served.sim.service_time = 0.5
    token = served.token()
    barrier = threading.Barrier(6)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        with httpx.Client(base_url=served.url, timeout=10) as client:
            barrier.wait()
            response = client.get(
                f"{RECORDS}/customer", headers={"Authorization": f"Bearer {token}"}
            )
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 200, 200, 200, 200, 429]
    refused = next(r for r in answers if r.status_code == 429)
    body = refused.json()
    assert body["title"] == "Too Many Requests"
    assert body["status"] == 429
    assert body["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert served.sim.gate.report()["peak"] == 5


def test_a_reused_idempotency_key_is_a_conflict_pointing_at_the_first_job(served: Served) -> None:
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "0b5e5e6c-key"}
    with served.api() as api:
        accepted = api.post(f"{RECORDS}/customer", json=CUSTOMER, headers=headers)
        again = api.post(f"{RECORDS}/customer", json=CUSTOMER, headers=headers)
        job = api.get(accepted.headers["Location"]).json()
        task = api.get(job["task"]["links"][0]["href"]).json()
        result = api.get(f"{job['task']['links'][0]['href']}/result")
    assert accepted.status_code == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    assert "/services/rest/async/v1/job/" in accepted.headers["Location"]
    assert again.status_code == 400
    assert again.json()["title"] == "Conflict"
    assert again.json()["o:errorDetails"][0]["o:errorCode"] == "IDEMPOTENCY_ERROR"
    assert accepted.headers["Location"].endswith(again.headers["Location"])
    assert (job["completed"], job["progress"]) == (True, "succeeded")
    assert task["progress"] == "succeeded"
    assert "startTime" in task
    assert result.status_code == 204
    assert f"{RECORDS}/customer/" in result.headers["Location"]
    assert len(served.sim.account.records["customer"]) == 1


def test_operators_close_periods_and_invoices_there_are_refused(served: Served) -> None:
    with served.api() as api:
        api.put(f"{RECORDS}/customer/eid:C-9", json=CUSTOMER)
        customer = api.get(f"{RECORDS}/customer/eid:C-9").json()["id"]
        closed = api.post("/_sim/scenarios/close_period", json={"through": "2026-03-31"})
        invoice = {"entity": {"id": customer}, "tranDate": "2026-03-15", "item": {"items": []}}
        refused = api.put(f"{RECORDS}/invoice/eid:I-1", json=invoice)
        periods = api.get(f"{RECORDS}/accountingPeriod", params={"q": "closed IS true"}).json()
    assert closed.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["o:errorDetails"][0]["o:errorCode"] == "PERIOD_CLOSED"
    assert periods["totalResults"] == 27  # Jan 2024 .. Mar 2026
