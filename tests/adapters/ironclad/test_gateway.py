"""IroncladContractSource against the simulator: fetch, paging, errors, check()."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contractsync.adapters.http import RetryPolicy
from contractsync.adapters.ironclad import IroncladContractSource
from contractsync.adapters.samples import load_case
from contractsync.domain.contract import ContractStatus
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ConfigError, DataError, TransientError
from contractsync.simulators.ironclad import IroncladSimulator
from tests.adapters.ironclad.conftest import EXAMPLES, launch
from tests.adapters.ironclad.harness import RATE_LIMIT_WAIT, settings

SAMPLE = "02-hanseatic-data-platform.yaml"


@pytest.fixture
def source(sim: IroncladSimulator) -> Iterator[Callable[..., IroncladContractSource]]:
    transports: list[Any] = []

    def build(**overrides: Any) -> IroncladContractSource:
        transports.append(sim.transport())
        return IroncladContractSource.connect(settings(**overrides), transport=transports[-1])

    yield build
    for transport in transports:
        transport.close()


def ref(workflow_id: str) -> ExternalRef:
    return ExternalRef(system="ironclad", kind="workflow", id=workflow_id)


def test_an_approved_workflow_reads_as_the_approved_sample(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    case = load_case(EXAMPLES / SAMPLE)
    with sim.client() as http:
        wid = launch(http, SAMPLE)
        http.post("/_sim/scenarios/approve_workflow", json={"workflow_id": wid})
    sourced = source().fetch_contract(ref(wid))
    assert sourced.contract == case.contract.model_copy(update={"status": ContractStatus.APPROVED})
    assert sourced.customer == case.customer.model_copy(update={"refs": ()})
    assert sourced.approved_at is not None


def test_an_amendment_reads_as_the_next_version(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    from tests.adapters.ironclad.conftest import document

    amended = document(SAMPLE)
    amended["contract"]["version"] = 2
    amended["contract"]["lines"][0]["billing"]["cap"] = {"amount": "275000.00", "currency": "EUR"}
    with sim.client() as http:
        wid = launch(http, SAMPLE)
        http.post("/_sim/scenarios/amend_workflow", json={"workflow_id": wid, **amended})
    contract = source().fetch_contract(ref(wid)).contract
    assert contract.version == 2
    assert str(contract.lines[0].billing.cap) == "275000.00 EUR"  # type: ignore[union-attr]


def test_a_hand_edit_that_removes_an_attribute_is_a_data_error_naming_it(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    with sim.client() as http:
        wid = launch(http, SAMPLE)
        http.post(
            "/_sim/scenarios/edit_workflow", json={"workflow_id": wid, "remove": ["legalEntity"]}
        )
    with pytest.raises(DataError) as caught:
        source().fetch_contract(ref(wid))
    assert caught.value.detail["attribute"] == "legalEntity"


def test_attribute_renames_read_a_template_with_other_names(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    with sim.client() as http:
        wid = launch(http, SAMPLE)
        edit = {"workflow_id": wid, "remove": ["legalEntity"], "attributes": {"ourEntity": "DE01"}}
        http.post("/_sim/scenarios/edit_workflow", json=edit)
    renamed = source(attribute_names={"legalEntity": "ourEntity"})
    assert renamed.fetch_contract(ref(wid)).contract.legal_entity_code == "DE01"


def test_an_unknown_workflow_is_a_data_error(source: Callable[..., IroncladContractSource]) -> None:
    with pytest.raises(DataError) as caught:
        source().fetch_contract(ref("0" * 24))
    assert caught.value.detail["vendor_code"] == "NOT_FOUND"


def test_listing_walks_every_page_once(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    with sim.client() as http:
        ids = [launch(http, SAMPLE, workflow_id=f"{n:024x}") for n in range(1, 6)]
    adapter, seen, cursor = source(), [], None
    while True:
        page = adapter.list_contracts(cursor=cursor, limit=2)
        seen += [r.id for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids


def test_a_foreign_cursor_is_a_data_error(source: Callable[..., IroncladContractSource]) -> None:
    with pytest.raises(DataError):
        source().list_contracts(cursor="/services/data/v62.0/query/01g", limit=2)


def test_a_spent_bucket_is_transient_and_retried_after_retry_after(
    make_sim: Callable[..., IroncladSimulator],
) -> None:
    sim = make_sim(rate_limits={"pub:workflows:read": 1})
    adapter = IroncladContractSource.connect(settings(), transport=sim.transport())
    adapter.list_contracts(cursor=None, limit=2)
    with pytest.raises(TransientError) as caught:
        adapter.list_contracts(cursor=None, limit=2)
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1


def test_a_429_without_retry_after_waits_the_configured_time(
    make_sim: Callable[..., IroncladSimulator],
) -> None:
    sim = make_sim(send_retry_after=False)
    adapter = IroncladContractSource.connect(settings(), transport=sim.transport())
    adapter.check()
    sim.injector.force("rate_limit")
    waits: list[float] = []
    RetryPolicy(max_attempts=3, base=0.001, cap=0.001).run(
        lambda: adapter.list_contracts(cursor=None, limit=2), sleep=waits.append
    )
    assert waits == [RATE_LIMIT_WAIT]


def test_an_unknown_acting_user_is_a_config_error(
    source: Callable[..., IroncladContractSource],
) -> None:
    with pytest.raises(ConfigError) as caught:
        source(as_user_email="nobody@contractsync.example").list_contracts(cursor=None, limit=2)
    assert caught.value.code == "ironclad.acting_user_refused"


def test_a_legacy_api_key_reads_without_oauth(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    with sim.client() as http:
        launch(http, SAMPLE)
    legacy = source(client_id=None, client_secret=None, as_user_email=None, api_key="sim-api-key")
    assert len(legacy.list_contracts(cursor=None, limit=10).items) == 1


def test_expired_tokens_are_renewed_once(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    adapter = source()
    adapter.list_contracts(cursor=None, limit=2)
    with sim.client() as http:
        http.post("/_sim/scenarios/expire_tokens", json={})
    assert adapter.list_contracts(cursor=None, limit=2).items == ()


def test_settings_need_exactly_one_way_to_authenticate() -> None:
    with pytest.raises(ValueError, match="either"):
        settings(api_key="k")
    with pytest.raises(ValueError, match="as_user_email"):
        settings(as_user_email=None)


def test_check_reports_the_workflow_count(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    with sim.client() as http:
        launch(http, SAMPLE)
    health = source().check()
    assert health.ok
    assert health.detail.startswith("1 workflows")
    assert not source(client_secret="wrong").check().ok


def test_the_verification_key_is_read_for_the_ingress(
    sim: IroncladSimulator, source: Callable[..., IroncladContractSource]
) -> None:
    assert source().verification_key() == sim.verification_key()
