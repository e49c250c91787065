"""Municipalities: newcomer budget, shelter costs, public sentiment and policy decisions."""

from __future__ import annotations

import mesa
import numpy as np

from sim.params import Funding, Sentiment
from sim.params import Municipality as MunicipalityParams

UNLIMITED = 1e12  # places: more than any city could ever need
POLICY_NAMES = ("access_without_fear", "welcoming_strategy", "lip", "intake_cap", "outreach",
                "overflow")


class Municipality(mesa.Agent):
    """A city or town. Its policies are switches a scenario sets and the council may change.

    Money: the newcomer budget arrives weekly into ``cash`` (which starts at the
    reserves); overflow shelter places and municipal grants are paid from it and may
    not take it below ``-allowed_deficit``. Regular shelter beds are paid by the
    shelter system's own budget and are only reported.
    """

    def __init__(self, model: mesa.Model, params: MunicipalityParams, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.name = params.name
        self.params = params
        self.policies = {k: bool(getattr(params.policies, k)) for k in POLICY_NAMES}
        self.champion_present = True
        self.sentiment = params.sentiment
        self.base_sentiment = params.sentiment
        self.budget_per_year = params.newcomer_budget_per_year
        self.cash = float(params.reserves)
        self.allowed_deficit = float(params.allowed_deficit)
        self.rent = params.median_rent
        self.spent = 0.0  # from the newcomer budget, cumulative
        self.spent_this_quarter = 0.0
        self.unfunded_this_quarter = 0.0  # overflow costs the city could not pay
        self.ihap_received = 0.0

    def refresh(self, field: list[str]) -> None:
        """A timeline changed ``params`` at ``field``: update the state copied from it."""
        p = self.params
        if field[0] == "policies" and len(field) > 1 and field[1] in self.policies:
            self.policies[field[1]] = bool(getattr(p.policies, field[1]))
        elif field[0] == "newcomer_budget_per_year":
            self.budget_per_year = p.newcomer_budget_per_year
        elif field[0] == "median_rent":
            self.rent = p.median_rent
        elif field[0] == "allowed_deficit":
            self.allowed_deficit = p.allowed_deficit
        elif field[0] == "sentiment":
            self.sentiment = self.base_sentiment = p.sentiment
        # every other parameter is read from ``params`` each week

    # -- money ---------------------------------------------------------------
    def available(self) -> float:
        """Money the city can still spend this week without breaking its overdraft limit."""
        return max(0.0, self.cash + self.allowed_deficit)

    def spend(self, amount: float, overflow: bool = False) -> float:
        """Pay up to ``amount`` from the newcomer budget; return what was paid.

        Unpaid overflow costs are tallied for the adaptive intake cap.
        """
        paid = min(amount, self.available())
        self.cash -= paid
        self.spent += paid
        self.spent_this_quarter += paid
        if overflow:
            self.unfunded_this_quarter += amount - paid
        return paid

    def weekly_income(self) -> None:
        self.cash += self.budget_per_year / 52.0

    def affordable_overflow(self, funding: Funding) -> float:
        """Overflow places (people) the city can pay for this week (free places: no limit)."""
        if funding.overflow_bed_week_cad <= 0:
            return UNLIMITED
        return min(UNLIMITED, self.available() / funding.overflow_bed_week_cad)

    # -- sentiment and policy ------------------------------------------------
    def update_sentiment(self, s: Sentiment, unsheltered: float, occupancy: float,
                         beds: float) -> None:
        """Move sentiment toward what visible strain and spending make it (quarterly).

        Spending is what the city actually paid from its newcomer budget over the
        quarter, as a yearly amount per resident.
        """
        pop = self.params.population
        over = max(0.0, occupancy / beds - 1.0) if beds > 0 else (1.0 if occupancy > 0 else 0.0)
        spend_per_resident = self.spent_this_quarter * 4.0 / pop
        target = (self.base_sentiment
                  - s.unsheltered_weight * unsheltered / pop * 1000.0
                  - s.overcapacity_weight * over
                  - s.spending_weight * spend_per_resident
                  + s.welcoming_weight * self.policies["welcoming_strategy"])
        target = float(np.clip(target, 0.0, 1.0))
        self.sentiment += s.adjust_per_quarter * (target - self.sentiment)

    def review_cap(self, occupancy: float, beds: float) -> None:
        """Adaptive intake cap, reviewed quarterly; then the quarter's tallies restart.

        The council refuses new intake once overflow costs went unpaid (the money is
        gone) while shelters are full. It reopens when occupancy has fallen below the
        beds, or when it holds a quarter's newcomer budget again (a top-up arrived or
        the budget grew) and paid every overflow cost of the quarter.
        """
        if self.params.policies.adaptive_cap:
            broke = self.unfunded_this_quarter > 0 or self.available() <= 0
            funded = self.unfunded_this_quarter == 0 and self.cash >= self.budget_per_year / 4
            if not self.policies["intake_cap"] and broke and occupancy >= beds:
                self.policies["intake_cap"] = True
            elif self.policies["intake_cap"] and (occupancy < beds or funded):
                self.policies["intake_cap"] = False
        self.spent_this_quarter = 0.0
        self.unfunded_this_quarter = 0.0

    def new_fiscal_year(self, s: Sentiment, rng: np.random.Generator) -> None:
        """Backlash cuts the budget; a champion may leave and champion-led policies lapse."""
        if self.sentiment < s.backlash_threshold:
            self.budget_per_year *= 1.0 - s.backlash_cut
        pol = self.params.policies
        if pol.champion_dependent and self.champion_present:
            if rng.random() < pol.champion_leave_per_year:
                self.champion_present = False
                self.policies["access_without_fear"] = False
                self.policies["welcoming_strategy"] = False
