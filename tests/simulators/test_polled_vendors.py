import pytest

from contractsync.errors import ConfigError
from contractsync.simulators import build_simulator


@pytest.mark.parametrize("vendor", ["netsuite", "kantata"])
def test_subscribing_to_webhooks_of_a_polled_vendor_says_to_drop_the_url(vendor: str) -> None:
    simulator = build_simulator(vendor)
    with pytest.raises(ConfigError, match="sends no webhooks") as caught:
        simulator.webhook_signer("whsec_" + "A" * 40)
    assert "--webhook-url" in caught.value.remediation
