"""Cursor pagination of the process API: every record once, Link headers, bounded limits."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.process_seed import ProcessHub, build_process_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessHub]:
    # Every test here only reads: one seeded hub serves them all.
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from build_process_hub(monkeypatch, tmp_path_factory.mktemp("hub"))


def walk(hub: ProcessHub, path: str, limit: int, key: str = "id") -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = hub.get(path, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        seen += [str(item[key]) for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return seen
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        assert parse_qs(urlsplit(link[1 : link.index(">")]).query)["cursor"] == [cursor]
    raise AssertionError("the pages never ended")


LISTS = [
    ("/api/v1/customers", "id"),
    ("/api/v1/contracts", "id"),
    ("/api/v1/projects", "id"),
    ("/api/v1/exceptions", "id"),
    ("/api/v1/events", "seq"),
    ("/api/v1/invoices", "id"),
]


@pytest.mark.parametrize(("path", "key"), LISTS)
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 200])
def test_walking_the_pages_of_a_list_sees_every_record_exactly_once(hub, path, key, limit):
    everything = hub.get(path, limit=200).json()["items"]

    walked = walk(hub, path, limit, key)

    assert walked == [str(item[key]) for item in everything]
    assert len(walked) == len(set(walked)) > 0


def test_rate_cards_from_every_contract_are_walked_once_each(hub):
    everything = hub.get("/api/v1/rate-cards", limit=200).json()["items"]
    pairs = [f"{e['contract_id']}/{e['rate_card']['id']}" for e in everything]
    walked = []
    cursor = None
    while True:
        body = hub.get(
            "/api/v1/rate-cards", limit=1, **({"cursor": cursor} if cursor else {})
        ).json()
        walked += [f"{e['contract_id']}/{e['rate_card']['id']}" for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == pairs
    assert len(set(pairs)) == len(pairs) >= 2


def test_events_come_newest_first(hub):
    seqs = [item["seq"] for item in hub.get("/api/v1/events", limit=200).json()["items"]]

    assert seqs == sorted(seqs, reverse=True)


def test_events_filter_by_type_and_subject(hub):
    contract = hub.seeded.contracts[0]

    by_type = hub.get("/api/v1/events", type="invoice.created").json()["items"]
    by_subject = hub.get("/api/v1/events", subject=f"contract:{contract}").json()["items"]

    assert {e["type"] for e in by_type} == {"invoice.created"}
    assert len(by_type) == len(hub.seeded.contracts)
    assert [e["id"] for e in by_subject] == [f"contract.approved:{contract}"]


def test_versions_of_a_contract_are_paged_oldest_first(hub):
    contract = hub.seeded.contracts[0]

    walked = walk(hub, f"/api/v1/contracts/{contract}/versions", 1, key="version")

    assert walked == ["1"]


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_a_limit_outside_1_to_200_is_a_422_problem(hub, limit):
    response = hub.get("/api/v1/customers", limit=limit)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("cursor", ["garbage", "eyJsaXN0IjoiZXZlbnRzIiwiYXQiOjF9", "e30"])
def test_a_cursor_this_list_did_not_issue_is_a_422_problem(hub, cursor):
    # The second cursor is a valid one of /events, replayed against /customers.
    response = hub.get("/api/v1/customers", cursor=cursor)

    assert response.status_code == 422
    assert response.json()["code"] == "pagination.cursor_invalid"


def test_invoices_show_where_they_live_what_they_bill_and_their_events(hub):
    contract = hub.seeded.contracts[1]

    [invoice] = [
        i for i in hub.get("/api/v1/invoices").json()["items"] if i["contract_id"] == contract
    ]

    assert invoice["id"] == f"INV-{contract}"
    assert invoice["refs"] == [{"system": "tryton", "kind": "account.invoice", "id": "501"}]
    assert (invoice["milestone_id"], invoice["due_on"]) == ("M1", "2025-05-16")
    assert invoice["amount"]["amount"]
    assert [e["type"] for e in invoice["events"]] == ["invoice.created"]
