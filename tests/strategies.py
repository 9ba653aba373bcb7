"""Hypothesis strategies that build random but valid canonical contracts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    RoleHours,
    Subscription,
    SubscriptionPeriod,
    TimeAndMaterials,
)
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money, quantum
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard

CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD", "CHF", "INR", "AUD")
ROLES = ("engineer", "architect", "project_manager", "analyst")


@st.composite
def money(draw: st.DrawFn, currency: str, low: int = 0, high: int = 500_000) -> Money:
    """An amount of ``currency`` between ``low`` and ``high`` whole units, any minor units."""
    step = quantum(currency)
    units = draw(st.integers(int(low / step), int(high / step)))
    return Money(amount=Decimal(units) * step, currency=currency)


@st.composite
def terms(draw: st.DrawFn, within: Term | None = None, max_days: int = 900) -> Term:
    """A term, optionally inside ``within``."""
    if within is None:
        start = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
        return Term(start=start, end=start + timedelta(days=draw(st.integers(0, max_days))))
    offset = draw(st.integers(0, within.days - 1))
    start = within.start + timedelta(days=offset)
    length = draw(st.integers(0, (within.end - start).days))
    return Term(start=start, end=start + timedelta(days=length))


@st.composite
def rate_cards(draw: st.DrawFn, currency: str, term: Term, card_id: str = "RC1") -> RateCard:
    """A rate card covering every role in ``ROLES`` from before ``term`` starts, open-ended."""
    rates = []
    for role in ROLES:
        start = term.start - timedelta(days=draw(st.integers(0, 30)))
        changes = sorted(set(draw(st.lists(st.integers(1, max(1, term.days - 1)), max_size=2))))
        boundaries = [start] + [term.start + timedelta(days=c) for c in changes if c < term.days]
        for index, begin in enumerate(boundaries):
            end = boundaries[index + 1] - timedelta(days=1) if index + 1 < len(boundaries) else None
            rates.append(
                Rate(
                    role=role,
                    hourly=draw(money(currency, 40, 400)),
                    effective_from=begin,
                    effective_to=end,
                )
            )
    return RateCard(id=card_id, currency=currency, rates=tuple(rates))


@st.composite
def milestones(
    draw: st.DrawFn, currency: str, term: Term, prefix: str
) -> tuple[BillingMilestone, ...]:
    count = draw(st.integers(1, 4))
    result = []
    for index in range(count):
        dated = draw(st.booleans()) or index == 0
        due = term.start + timedelta(days=draw(st.integers(0, term.days - 1))) if dated else None
        result.append(
            BillingMilestone(
                id=f"{prefix}-M{index + 1}",
                name=f"Milestone {index + 1}",
                amount=draw(money(currency, 0, 200_000)),
                due_date=due,
                trigger=None if dated else "customer acceptance",
                acceptance_required=draw(st.booleans()),
            )
        )
    return tuple(result)


@st.composite
def lines(draw: st.DrawFn, currency: str, term: Term, index: int, card: RateCard) -> ContractLine:
    """One line of a random billing model, on the contract term or a part of it."""
    line_term = draw(st.one_of(st.none(), terms(within=term)))
    effective = line_term or term
    line_id = f"L{index}"
    kind = draw(st.sampled_from(["fixed_fee", "time_and_materials", "retainer", "subscription"]))
    billing: FixedFee | TimeAndMaterials | Retainer | Subscription
    if kind == "fixed_fee":
        ms = draw(milestones(currency, effective, line_id))
        amount = Money(amount=sum((m.amount.amount for m in ms), Decimal(0)), currency=currency)
        billing = FixedFee(amount=amount, milestones=ms)
    elif kind == "time_and_materials":
        roles = draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=3, unique=True))
        estimate = tuple(
            RoleHours(role=r, hours=Decimal(draw(st.integers(1, 4000))) / 4) for r in roles
        )
        cap = draw(st.one_of(st.none(), money(currency, 1_000, 600_000)))
        billing = TimeAndMaterials(rate_card_id=card.id, estimate=estimate, cap=cap)
    elif kind == "retainer":
        billing = Retainer(monthly_fee=draw(money(currency, 100, 50_000)))
    else:
        billing = Subscription(
            period=draw(st.sampled_from(list(SubscriptionPeriod))),
            price_per_period=draw(money(currency, 10, 100_000)),
        )
    return ContractLine(
        id=line_id,
        description=f"Service line {index}",
        service_code=f"SVC-{kind.upper().replace('_', '-')}",
        term=line_term,
        billing=billing,
    )


@st.composite
def contracts(draw: st.DrawFn, currency: str | None = None) -> Contract:
    """A valid SOW: one currency, one rate card covering its roles, 1 to 4 lines."""
    cur = currency or draw(st.sampled_from(CURRENCIES))
    term = draw(terms())
    card = draw(rate_cards(cur, term))
    count = draw(st.integers(1, 4))
    contract_lines = tuple(draw(lines(cur, term, i + 1, card)) for i in range(count))
    return Contract(
        id="C-PROP",
        title="Property-test contract",
        customer_id="CUST-1",
        legal_entity_code="US01",
        currency=cur,
        term=term,
        status=ContractStatus.APPROVED,
        lines=contract_lines,
        rate_cards=(card,),
    )
