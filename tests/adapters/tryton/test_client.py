import datetime as dt
from decimal import Decimal

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.config import TrytonSettings


def test_check_reports_the_server_version_database_and_company(
    client: TrytonClient, settings: TrytonSettings
) -> None:
    found = client.check()
    assert found.server_version.startswith("8.2")
    assert found.database == settings.database
    assert found.company_id == settings.company_id
    assert found.company_name
    assert found.currency == "EUR"


def test_decimals_and_dates_travel_as_tryton_tagged_types(client: TrytonClient, tag: str) -> None:
    currency = client.search("currency.currency", [("code", "=", "EUR")])[0]
    rate = client.create(
        "currency.currency.rate",
        [{"currency": currency, "date": dt.date(2001, 2, 3), "rate": Decimal("1.234567")}],
    )
    row = client.read("currency.currency.rate", rate, ["date", "rate"])[0]
    assert row["date"] == dt.date(2001, 2, 3)
    assert row["rate"] == Decimal("1.234567")


def test_the_client_logs_in_lazily_and_sends_the_company_in_the_context(
    settings: TrytonSettings,
) -> None:
    with TrytonClient(settings) as fresh:
        # project.work is company-scoped: it is refused without a company in the context.
        assert fresh.search_count("project.work", [("company", "=", settings.company_id)]) >= 0
        assert fresh.user_id >= 1
