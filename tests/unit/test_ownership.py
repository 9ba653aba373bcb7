import pytest
from pydantic import ValidationError

from contractsync.domain.ownership import DEFAULT_OWNERSHIP, OwnershipMap, OwnershipRule, SystemRole


@pytest.mark.parametrize(
    ("entity", "field", "owner"),
    [
        ("customer", "legal_name", SystemRole.CRM),
        ("customer", "tax_ids", SystemRole.ERP),
        ("opportunity", "stage", SystemRole.CRM),
        ("contract", "term", SystemRole.CLM),
        ("rate_card", "rates", SystemRole.CLM),
        ("billing_milestone", "amount", SystemRole.CLM),
        ("billing_milestone", "status", SystemRole.PSA),
        ("project", "staffing", SystemRole.PSA),
        ("invoice", "amount", SystemRole.ERP),
        ("revenue_schedule", "entries", SystemRole.ERP),
    ],
)
def test_the_default_map_names_the_system_of_record(entity, field, owner):
    assert DEFAULT_OWNERSHIP.owner_of(entity, field) is owner
    assert DEFAULT_OWNERSHIP.may_change(owner, entity, field)


def test_a_non_owner_may_not_change_a_field():
    assert not DEFAULT_OWNERSHIP.may_change(SystemRole.ERP, "contract", "term")
    assert not DEFAULT_OWNERSHIP.may_change(SystemRole.CLM, "billing_milestone", "status")


def test_an_entity_nobody_owns_has_no_owner():
    assert DEFAULT_OWNERSHIP.owner_of("timesheet", "hours") is None


def test_a_map_naming_one_field_twice_is_refused():
    with pytest.raises(ValidationError, match="twice"):
        OwnershipMap(
            rules=(
                OwnershipRule(entity="contract", owner=SystemRole.CLM),
                OwnershipRule(entity="contract", owner=SystemRole.ERP),
            )
        )
