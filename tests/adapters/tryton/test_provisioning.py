import datetime as dt
import stat
import time

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.company_setup import COMPANY_PARTY_CODE
from contractsync.adapters.tryton.provisioning import ProvisionedDatabase, provision
from contractsync.adapters.tryton.site import TrytonSite


def test_provisioning_makes_a_company_the_admin_works_in(
    client: TrytonClient, provisioned: ProvisionedDatabase
) -> None:
    company = client.read(
        "company.company", [provisioned.company_id], ["party.code", "currency.code"]
    )
    assert company[0]["party."]["code"] == COMPANY_PARTY_CODE
    assert company[0]["currency."]["code"] == "EUR"
    assert client.company_id == provisioned.company_id


def test_provisioning_opens_this_years_fiscal_year_with_monthly_periods(
    client: TrytonClient, provisioned: ProvisionedDatabase
) -> None:
    today = dt.date.today()
    years = client.search_read(
        "account.fiscalyear",
        [("start_date", "<=", today), ("end_date", ">=", today)],
        ["state", "periods", "company"],
    )
    assert len(years) == 1
    assert years[0]["state"] == "open"
    assert years[0]["company"] == provisioned.company_id
    assert len(years[0]["periods"]) == 12


def test_provisioning_sets_default_receivable_and_payable_accounts(client: TrytonClient) -> None:
    config = client.read(
        "account.configuration", [1], ["default_account_receivable", "default_account_payable"]
    )[0]
    assert config["default_account_receivable"]
    assert config["default_account_payable"]


def test_provisioning_writes_the_config_and_an_owner_only_password_file(
    provisioned: ProvisionedDatabase,
) -> None:
    site = provisioned.site
    assert "uri = sqlite://" in site.config_file.read_text()
    assert stat.S_IMODE(site.password_file.stat().st_mode) == 0o600
    assert site.read_password() == provisioned.password.get_secret_value()


def test_a_second_database_is_copied_from_the_cached_template_in_seconds(
    provisioned: ProvisionedDatabase,
) -> None:
    site = TrytonSite(provisioned.site.root, "hub_copy")
    started = time.monotonic()
    copy = provision(site, force=True)
    assert copy.from_cache
    assert time.monotonic() - started < 5
    assert site.sqlite_file.stat().st_size > 1_000_000
    assert copy.company_id == provisioned.company_id


def test_provisioning_reports_progress_up_to_ready(provisioned: ProvisionedDatabase) -> None:
    seen: list[tuple[str, float]] = []
    provision(
        TrytonSite(provisioned.site.root, "hub_progress"),
        force=True,
        on_progress=lambda what, done: seen.append((what, done)),
    )
    fractions = [done for _what, done in seen]
    assert fractions == sorted(fractions)
    assert seen[-1] == ("ready", 1.0)
