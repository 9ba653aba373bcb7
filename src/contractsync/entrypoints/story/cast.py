"""Who signs what in the demo story: 26 deals, each a customer, a SOW and what happens to it.

A ``Deal`` is the script of one contract: whether sales wins it in the CRM first, how it is
signed, which milestones delivery completes, which amendments follow (and what finance
decides about the routed ones) and how it ends. ``Deal.final`` is what every system must hold
once the story is over; the end-to-end test and the summary compare against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from stdnum.iso7064 import mod_11_10

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee
from contractsync.domain.customer import Customer
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.tax import TaxIdentifier
from contractsync.entrypoints.story.hub_config import ENTITY_CODE

Signing = Literal["clm", "docusign", "fix"]
"""``clm``: approved in Ironclad; ``docusign``: the envelope completes; ``fix``: approved without
a tax treatment, so finance fixes it in the CLM and resolves the hub's item."""
Decision = Literal["auto", "approve", "reject"]
"""What happens to an amendment: the policy applies it, or finance approves or rejects it."""

FIRMS = (
    "Adler Logistik", "Bergmann Maschinenbau", "Claasen Energie", "Dreyer Pharma",
    "Eckert Versicherung", "Falk Handel", "Gruber Bau", "Hansen Reederei", "Imhoff Medien",
    "Jung Chemie", "Krause Textil", "Lorenz Automotive", "Maier Lebensmittel", "Neumann Software",
    "Otto Spedition", "Pohl Immobilien", "Quast Elektronik", "Richter Bank", "Seidel Verlag",
    "Thiel Gesundheit", "Ulrich Stahl", "Vogel Telekom", "Winter Brauerei", "Xander Optik",
    "Yilmaz Mode", "Ziegler Agrar",
)  # fmt: skip
START, END = date(2026, 1, 1), date(2026, 12, 31)
RENEWED_END = date(2027, 6, 30)


@dataclass(frozen=True)
class AmendmentAct:
    """One new version of a deal's contract and what becomes of it.

    Attributes:
        version: The contract version the CLM approves.
        amounts: The milestone amounts of that version.
        decision: Applied by policy, or routed to finance and approved or rejected by them.
        change_order: Approved as its own CLM workflow (so versions may arrive out of order).
    """

    version: int
    amounts: tuple[int, ...]
    decision: Decision = "auto"
    change_order: bool = False


@dataclass(frozen=True)
class Deal:
    """The script of one contract (see the module docstring)."""

    number: int
    amounts: tuple[int, ...]
    won: bool = True
    signing: Signing = "clm"
    acceptance: bool = False
    delivered: tuple[str, ...] = ()
    amendments: tuple[AmendmentAct, ...] = ()
    ending: Literal["renewal", "termination"] | None = None
    hand_edit: str | None = None
    """A milestone whose ERP price finance edits by hand (drift reconciliation must catch)."""

    @property
    def contract_id(self) -> str:
        """``SOW-<number>``, the id the CLM and every system know the contract by."""
        return f"SOW-{self.number:03d}"

    @property
    def customer(self) -> Customer:
        """A German business customer with a valid VAT id of its own."""
        body = f"{81_000_000 + self.number * 7919:08d}"
        vat = TaxIdentifier(scheme="eu_vat", value=f"DE{body}{mod_11_10.calc_check_digit(body)}")
        return Customer(
            id=f"CUST-{self.number:03d}",
            legal_name=f"{FIRMS[(self.number - 1) % len(FIRMS)]} GmbH",
            billing_country="DE",
            tax_ids=(vat,),
        )

    def contract(
        self,
        *,
        version: int = 1,
        amounts: tuple[int, ...] | None = None,
        end: date = END,
        tax_treatment: str | None = "domestic_vat",
    ) -> Contract:
        """The SOW at ``version``: one fixed-fee line, one milestone per amount (``M1`` ...)."""
        milestones = tuple(
            BillingMilestone(
                id=f"M{n}",
                name=("Discovery", "Build", "Go-live", "Hypercare")[n - 1],
                amount=Money.of(amount, "EUR"),
                due_date=date(2026, 1 + 3 * n, 28),
                acceptance_required=self.acceptance and n == 1,
            )
            for n, amount in enumerate(amounts or self.amounts, start=1)
        )
        fee = sum((m.amount for m in milestones), Money.of(0, "EUR"))
        return Contract(
            id=self.contract_id,
            title=f"{self.customer.legal_name}: SOW {self.number}",
            customer_id=self.customer.id,
            legal_entity_code=ENTITY_CODE,
            currency="EUR",
            term=Term(start=START, end=end),
            version=version,
            tax_treatment=tax_treatment,
            payment_terms_days=30 + 15 * (self.number % 2),
            lines=(
                ContractLine(
                    id="L1",
                    description="Implementation",
                    service_code="IMPL",
                    billing=FixedFee(amount=fee, milestones=milestones),
                ),
            ),
        )

    @property
    def signed(self) -> Contract:
        """The version the CLM sends first (without a tax treatment for a ``fix`` deal)."""
        return self.contract(tax_treatment=None if self.signing == "fix" else "domestic_vat")

    @property
    def final(self) -> Contract:
        """What the contract says once the story is over: the last version not rejected."""
        kept = [a for a in self.amendments if a.decision != "reject"]
        last = max(kept, key=lambda a: a.version) if kept else None
        if self.ending == "renewal":
            return self.contract(version=2, end=RENEWED_END)
        if last is None:
            return self.contract()
        return self.contract(version=last.version, amounts=last.amounts)

    @property
    def invoiced(self) -> tuple[str, ...]:
        """The milestones that end invoiced: delivered ones, unless the contract was terminated."""
        return () if self.ending == "termination" else self.delivered


def cast() -> tuple[Deal, ...]:
    """The 26 deals of the story (see ``docs/flows.md`` for what each one shows)."""
    plain = [
        Deal(n, (4000 + 250 * n, 12000 + 500 * n), delivered=("M1", "M2") if n <= 4 else ("M1",))
        for n in range(1, 15)
    ]
    plain[5] = Deal(6, (5500, 15000), acceptance=True, delivered=("M1",))
    plain[9] = Deal(10, (6500, 18000), delivered=("M1",), hand_edit="M2")
    auto = (
        Deal(15, (6000, 20000), amendments=(AmendmentAct(2, (6000, 21000)),)),
        Deal(16, (6000, 20000), amendments=(AmendmentAct(2, (6000, 19000)),)),
        Deal(17, (8000, 24000), amendments=(AmendmentAct(2, (8000, 27000)),)),
        Deal(18, (5000, 15000, 5000), amendments=(AmendmentAct(2, (6000, 15000, 5000)),)),
    )
    routed = (
        Deal(19, (5000, 20000), amendments=(AmendmentAct(2, (5000, 32000), "approve"),)),
        Deal(20, (7000, 21000), amendments=(AmendmentAct(2, (7000, 33000), "approve"),)),
        Deal(
            21,
            (5000, 15000),
            signing="docusign",
            amendments=(AmendmentAct(2, (5000, 27000), "reject"),),
        ),
    )
    out_of_order = Deal(
        22,
        (6000, 18000),
        won=False,
        signing="docusign",
        amendments=(
            AmendmentAct(3, (6000, 19000, 1000), change_order=True),
            AmendmentAct(2, (6000, 19000), change_order=True),
        ),
    )
    rest = (
        Deal(23, (9000, 30000), won=False, signing="docusign", delivered=("M1",)),
        Deal(24, (4500, 13500), won=False, signing="fix", delivered=("M1",)),
        Deal(25, (5000, 15000), won=False, ending="renewal"),
        Deal(26, (5000, 15000), won=False, ending="termination", delivered=("M1",)),
    )
    return (*plain, *auto, *routed, out_of_order, *rest)


__all__ = ["RENEWED_END", "AmendmentAct", "Deal", "Decision", "Signing", "cast"]
