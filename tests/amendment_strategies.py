"""Amendment test data: random (contract, amendment) pairs and one hand-written signed contract."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import (
    Amendment,
    CapChange,
    Change,
    LegalEntityChange,
    MilestoneAdd,
    MilestoneRemove,
    MilestoneReprice,
    MilestoneReschedule,
    RateCardReplace,
    RateChange,
    ScopeLineAdd,
    ScopeLineChange,
    ScopeLineRemove,
    TermChange,
)
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    RoleHours,
    TimeAndMaterials,
)
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.errors import AmendmentError
from tests.strategies import ROLES, contracts, lines, money, rate_cards

CHANGE_KINDS = (
    "rate_change",
    "milestone_add",
    "milestone_remove",
    "milestone_reschedule",
    "milestone_reprice",
    "term_change",
    "cap_change",
    "scope_line_add",
    "scope_line_remove",
    "scope_line_change",
    "rate_card_replace",
    "legal_entity_change",
)
LEGAL_ENTITIES = ("US01", "GB01", "DE01", "NL02")


def _day_within(draw: st.DrawFn, term: Term) -> date:
    return term.start + timedelta(days=draw(st.integers(0, term.days - 1)))


def _fixed_fee_lines(contract: Contract, *, with_milestones: bool = False) -> list[ContractLine]:
    return [
        line
        for line in contract.lines
        if isinstance(line.billing, FixedFee) and (line.billing.milestones or not with_milestones)
    ]


@st.composite
def _milestone_change(draw: st.DrawFn, contract: Contract, kind: str, tag: str) -> Change | None:
    if kind == "milestone_add":
        candidates = _fixed_fee_lines(contract)
    else:
        candidates = _fixed_fee_lines(contract, with_milestones=True)
    if not candidates:
        return None
    line = draw(st.sampled_from(candidates))
    assert isinstance(line.billing, FixedFee)
    term = contract.line_term(line)
    if kind == "milestone_add":
        milestone = BillingMilestone(
            id=f"{line.id}-{tag}",
            name=f"Added {tag}",
            amount=draw(money(contract.currency, 0, 100_000)),
            due_date=_day_within(draw, term),
        )
        return MilestoneAdd(line_id=line.id, milestone=milestone)
    target = draw(st.sampled_from(line.billing.milestones))
    if kind == "milestone_remove":
        return MilestoneRemove(line_id=line.id, milestone_id=target.id)
    if kind == "milestone_reschedule":
        return MilestoneReschedule(
            line_id=line.id, milestone_id=target.id, due_date=_day_within(draw, term)
        )
    amount = draw(money(contract.currency, 0, 200_000))
    return MilestoneReprice(line_id=line.id, milestone_id=target.id, amount=amount)


@st.composite
def _line_change(draw: st.DrawFn, contract: Contract, kind: str, index: int) -> Change | None:
    card = contract.rate_cards[0]
    if kind == "scope_line_add":
        return ScopeLineAdd(line=draw(lines(contract.currency, contract.term, index, card)))
    if not contract.lines:
        return None
    line = draw(st.sampled_from(contract.lines))
    if kind == "scope_line_remove":
        return ScopeLineRemove(line_id=line.id)
    if kind == "cap_change":
        tm = [item for item in contract.lines if isinstance(item.billing, TimeAndMaterials)]
        if not tm:
            return None
        capped = draw(st.sampled_from(tm))
        cap = draw(st.one_of(st.none(), money(contract.currency, 1_000, 600_000)))
        return CapChange(line_id=capped.id, cap=cap)
    if draw(st.booleans()):
        return ScopeLineChange(line=line.model_copy(update={"description": f"Reworded {index}"}))
    fresh = draw(lines(contract.currency, contract.term, index, card))
    return ScopeLineChange(line=fresh.model_copy(update={"id": line.id}))


@st.composite
def changes(draw: st.DrawFn, contract: Contract, kind: str, position: int) -> Change | None:
    """One random change of ``kind`` that fits ``contract``, or None if nothing fits it."""
    tag = f"A{position}"
    if kind.startswith("milestone_"):
        return draw(_milestone_change(contract, kind, tag))
    if kind in {"cap_change"} or kind.startswith("scope_line_"):
        return draw(_line_change(contract, kind, 50 + position))
    if kind == "rate_change":
        card = draw(st.sampled_from(contract.rate_cards))
        offset = draw(st.integers(-30, contract.term.days + 30))
        return RateChange(
            rate_card_id=card.id,
            role=draw(st.sampled_from((*ROLES, "designer"))),
            hourly=draw(money(contract.currency, 40, 400)),
            effective_from=contract.term.start + timedelta(days=offset),
        )
    if kind == "rate_card_replace":
        card_id = draw(st.sampled_from([*(c.id for c in contract.rate_cards), "RC9"]))
        return RateCardReplace(
            rate_card=draw(rate_cards(contract.currency, contract.term, card_id))
        )
    if kind == "term_change":
        starts = [line.term.start for line in contract.lines if line.term is not None]
        earliest = max([contract.term.start, *starts])
        span = (contract.term.end - earliest).days + 400
        return TermChange(end=earliest + timedelta(days=draw(st.integers(0, span))))
    others = [code for code in LEGAL_ENTITIES if code != contract.legal_entity_code]
    return LegalEntityChange(legal_entity_code=draw(st.sampled_from(others)))


@st.composite
def amended_contracts(
    draw: st.DrawFn, kinds: tuple[str, ...] = CHANGE_KINDS
) -> tuple[Contract, Amendment]:
    """A valid contract and an amendment of 1 to 4 changes drawn from ``kinds`` that applies to it.

    Each change is drawn against the contract as the earlier changes left it, so later changes
    may build on earlier ones (reprice a milestone added a step before).
    """
    contract = draw(contracts())
    current, drawn = contract, []
    for position in range(draw(st.integers(1, 4))):
        change = draw(changes(current, draw(st.sampled_from(kinds)), position))
        if change is None:
            continue
        try:
            current = apply_changes(current, [change])
        except AmendmentError:
            continue  # e.g. a removed milestone left the fixed amount below zero
        drawn.append(change)
    if not drawn:
        drawn.append(draw(changes(current, "legal_entity_change", 9)))
    amendment = Amendment(
        id="AMD-1",
        contract_id=contract.id,
        sequence=contract.version,
        base_version=contract.version,
        effective_date=contract.term.start,
        changes=tuple(drawn),
    )
    return contract, amendment


def usd(amount: str | int) -> Money:
    """``amount`` US dollars."""
    return Money.of(amount, "USD")


def signed_contract() -> Contract:
    """A hand-written signed SOW (version 1) that example tests amend.

    Worth 99,750.00 USD: L1 fixed fee 30,000 (M1 10,000 due Mar 31, M2 20,000 due Jun 30);
    L2 T&M, 365 engineer hours at 150 = 54,750 under a 100,000 cap; L3 retainer 1,000 a month
    over the contract year; L4 retainer 500 a month for January to June only.
    """
    year = Term(start=date(2026, 1, 1), end=date(2026, 12, 31))
    return Contract(
        id="C-100",
        title="Data platform SOW",
        customer_id="CUST-1",
        legal_entity_code="US01",
        currency="USD",
        term=year,
        lines=(
            ContractLine(
                id="L1",
                description="Platform build",
                service_code="SVC-BUILD",
                billing=FixedFee(
                    amount=usd(30_000),
                    milestones=(
                        BillingMilestone(
                            id="M1", name="Design", amount=usd(10_000), due_date=date(2026, 3, 31)
                        ),
                        BillingMilestone(
                            id="M2", name="Build", amount=usd(20_000), due_date=date(2026, 6, 30)
                        ),
                    ),
                ),
            ),
            ContractLine(
                id="L2",
                description="Engineering time",
                service_code="SVC-TM",
                billing=TimeAndMaterials(
                    rate_card_id="RC1",
                    estimate=(RoleHours(role="engineer", hours=Decimal(365)),),
                    cap=usd(100_000),
                ),
            ),
            ContractLine(
                id="L3",
                description="Support retainer",
                service_code="SVC-SUPPORT",
                billing=Retainer(monthly_fee=usd(1_000)),
            ),
            ContractLine(
                id="L4",
                description="Onboarding",
                service_code="SVC-ONBOARD",
                term=Term(start=date(2026, 1, 1), end=date(2026, 6, 30)),
                billing=Retainer(monthly_fee=usd(500)),
            ),
        ),
        rate_cards=(
            RateCard(
                id="RC1",
                currency="USD",
                rates=(
                    Rate(role="engineer", hourly=usd(150), effective_from=date(2026, 1, 1)),
                    Rate(role="architect", hourly=usd(200), effective_from=date(2026, 1, 1)),
                ),
            ),
        ),
    )
