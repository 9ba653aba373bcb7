"""Pure translations between contractsync terms and Tryton values (keys, identifier types)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.tax import TaxIdentifier

SERVICES_CATEGORY = "Contractsync services"
"""Name of the accounting product category provisioning creates for the hub's products."""

Task = tuple[str, str, Decimal]
"""One project task as (code, name, fixed amount): a billing milestone in Tryton terms."""

# Tryton 8.2 files these stdnum schemes under "<country>_vat" (party.replace_vat).
_TRYTON_VAT_RENAMED = frozenset(
    {"au_abn", "br_cnpj", "ca_bn", "in_gstin", "jp_cn", "mx_rfc", "no_mva", "nz_ird", "sg_uen"}
)


def identifier_type(tax_id: TaxIdentifier) -> str:
    """Return the ``party.identifier`` type Tryton uses for a contractsync tax scheme."""
    if tax_id.scheme in _TRYTON_VAT_RENAMED:
        return tax_id.scheme.split("_", 1)[0] + "_vat"
    return tax_id.scheme


def record_key(kind: str, code: str) -> str:
    """Return the marker that names a hub record in a Tryton text field.

    Tryton has no external-id field on projects, tasks or timesheet lines, so the hub's
    code is kept in a text field in this exact form (see ADR 0002).
    """
    return f"contractsync:{kind}:{code}"


def timesheet_description(text: str, key: str) -> str:
    """Return a timesheet line description that ends with the line's hub key."""
    marker = f"[{record_key('timesheet', key)}]"
    return f"{text} {marker}" if text else marker


def like_suffix(key: str) -> str:
    """Return a LIKE pattern matching descriptions made by ``timesheet_description``."""
    marker = f"[{record_key('timesheet', key)}]"
    escaped = marker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}"


def milestone_tasks(milestones: Sequence[BillingMilestone]) -> list[Task]:
    """Return one task per billing milestone: its id as code, its name and amount."""
    return [(m.id, m.name, m.amount.amount) for m in milestones]
