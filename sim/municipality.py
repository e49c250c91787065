"""Municipalities: newcomer budget, shelter costs, public sentiment and policy decisions."""

from __future__ import annotations

import numpy as np

from sim import response
from sim.codes import WEEKS_PER_YEAR
from sim.mesa_import import mesa
from sim.params import Funding, Politics, Scenario, Sentiment
from sim.params import Municipality as MunicipalityParams
from sim.response import EmergencyState

UNLIMITED = 1e12  # places: more than any city could ever need
POLICY_NAMES = ("access_without_fear", "welcoming_strategy", "lip", "rif", "intake_cap",
                "outreach", "overflow", "emergency_response")


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
        self.emergency = EmergencyState(len(model.scenario.response.kinds))
        self.emergency.cap_since = 0 if self.policies["intake_cap"] else None

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
        self.cash += self.budget_per_year / WEEKS_PER_YEAR

    def affordable_overflow(self, funding: Funding) -> float:
        """Overflow places (people) the city can pay for this week (free places: no limit)."""
        if funding.overflow_bed_week_cad <= 0:
            return UNLIMITED
        return min(UNLIMITED, self.available() / funding.overflow_bed_week_cad)

    # -- sentiment and policy ------------------------------------------------
    def update_sentiment(self, s: Sentiment, unsheltered: float, fill: float) -> None:
        """Move sentiment toward what visible strain and spending make it (quarterly).

        ``fill`` is the whole shelter system's occupancy over its beds as the public sees
        it (``Municipality.public_fill``), not the refugee programme's alone. Spending is
        what the city actually paid from its newcomer budget over the quarter, as a yearly
        amount per resident.
        """
        pop = self.params.population
        over = max(0.0, fill - 1.0)
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
                self.set_cap(True, "newcomer money ran out with shelters full")
            elif self.policies["intake_cap"] and (occupancy < beds or funded):
                self.set_cap(False, "occupancy fell below the beds" if occupancy < beds
                             else "money for a quarter is back")
        self.spent_this_quarter = 0.0
        self.unfunded_this_quarter = 0.0

    def set_cap(self, on: bool, why: str) -> None:
        """Impose or lift the intake cap, with an event that says why (and how long it held)."""
        week = self.model.week
        self.policies["intake_cap"] = on
        if on:
            self.emergency.cap_since = week
            self.model.log("cap_imposed", f"{self.name} caps shelter intake: {why}")
        else:
            held = week - (self.emergency.cap_since or 0)
            self.emergency.cap_since = None
            self.model.log("cap_lifted", f"{self.name} lifts its intake cap after {held} weeks: "
                           f"{why}")

    def new_fiscal_year(self, s: Sentiment, p: Politics, rng: np.random.Generator) -> None:
        """A year with pressure to act (its peak) raises the budget, else backlash may cut
        it; a champion may leave and champion-led policies lapse."""
        peak, self.emergency.pressure_peak = self.emergency.pressure_peak, 0.0
        if peak >= p.act_pressure:
            self.budget_per_year *= 1.0 + p.budget_raise
            self.model.log("budget_raised", f"{self.name} raises its newcomer budget "
                           f"{p.budget_raise:.0%} under pressure to act")
        elif self.sentiment < s.backlash_threshold:
            self.budget_per_year *= 1.0 - s.backlash_cut
        pol = self.params.policies
        if pol.champion_dependent and self.champion_present:
            if rng.random() < pol.champion_leave_per_year:
                self.champion_present = False
                self.policies["access_without_fear"] = False
                self.policies["welcoming_strategy"] = False

    # -- crisis response -----------------------------------------------------
    def respond(self, sc: Scenario, unsheltered: int, overflow: int, occupied: int) -> None:
        """Weekly, after the shelter costs: pressure to act, strain counters, emergency
        places ordered or closed, and an intake cap that lapses under pressure.

        Args (agents, this week): unsheltered; overflow, people in paid overflow places;
        occupied, people in emergency places.
        """
        r, pol = sc.response, sc.politics
        k = self.model.scale
        week = self.model.week
        e = self.emergency
        pop = self.params.population
        target = response.pressure_target(unsheltered * k, pop, pol)
        e.pressure += pol.pressure_adjust_per_week * (target - e.pressure)
        e.pressure_peak = max(e.pressure_peak, e.pressure)
        if response.strained(unsheltered * k, overflow * k, pop, r.trigger_per_100k):
            e.strain_weeks, e.calm_weeks = e.strain_weeks + 1, 0
        else:
            e.strain_weeks, e.calm_weeks = 0, e.calm_weeks + 1
        if self.policies["intake_cap"] and e.cap_since is None:
            e.cap_since = week  # imposed by a timeline entry
        if (self.policies["intake_cap"] and e.cap_since < week and e.pressure >= pol.act_pressure
                and self.available() > 0):
            self.set_cap(False, f"pressure to act on people sleeping outside ({e.pressure:.2f})")
        if self.policies["emergency_response"]:
            self._order_or_close(r, unsheltered + overflow, occupied)

    def _order_or_close(self, r, wanted: int, occupied: int) -> None:
        """Order places while strain persists; close empty ones when it is gone or unpaid."""
        e = self.emergency
        k = self.model.scale
        week = self.model.week
        mine = response.kinds_of(r, "municipal")
        by_kind = response.fill_by_kind(occupied, e.open)
        if e.strain_weeks >= r.trigger_weeks:
            on_order = e.on_order()
            gap = (int(np.ceil(wanted * (1.0 + r.margin))) - int((e.open - by_kind).sum())
                   - int(on_order.sum()))
            if gap <= 0:
                return
            room = response.limits(r, self.params.population, k) - e.open - on_order
            running = response.cost_per_week(r, e.open + on_order, k)[0] * r.funded_weeks
            spare = self.available() - running
            costs = np.array([kd.cost_per_place_week * k * r.funded_weeks
                              for kd in r.kinds.values()])
            affordable = np.where(costs > 0, np.floor(max(spare, 0.0) / np.maximum(costs, 1e-9)),
                                  UNLIMITED)
            places = response.order(gap, mine, room, affordable)
            kinds = list(r.kinds)
            for kd in mine:
                if places[kd]:
                    lead = round(r.kinds[kinds[kd]].lead_weeks * r.speed)
                    e.add(week + lead, kd, int(places[kd]), "municipal")
                    self.model.log("emergency_order", (
                        f"{self.name} orders {places[kd] * k:,.0f} {kinds[kd]} places "
                        f"(open in {lead} weeks) after {e.strain_weeks} weeks of strain"))
        elif (e.calm_weeks >= r.close_weeks or self.available() <= 0) and e.open.any():
            keep = 0 if self.available() <= 0 else int(np.ceil(by_kind.sum() * r.margin))
            close = response.closable(e.open, by_kind, mine, keep)
            if close.sum() > 0:
                e.open -= close
                e.pipeline = [o for o in e.pipeline if o.opener != "municipal"]
                why = "no money left" if self.available() <= 0 else (
                    f"{e.calm_weeks} weeks without strain")
                self.model.log("emergency_closure", f"{self.name} closes {close.sum() * k:,.0f} "
                               f"empty emergency places: {why}")
