"""The federal government and the provinces as Mesa agents: emergency-shelter money and sites.

Each government watches the cities of its jurisdiction. A city is in crisis when its strain
has lasted the response's ``trigger_weeks`` and its pressure to act reached
``politics.act_pressure``. Ad hoc: after ``political_lag_weeks`` of at least
``crisis_cities`` cities in crisis, one-time top-ups into their newcomer money (and, with
``opens_sites``, sites of its own). Formula: advances at every quarter start, whatever the
strain. Both within the fiscal year's envelope. Provinces may also reimburse a share of
municipal shelter costs for claimants (``claimant_cost_share``, booked by the model with the
IHAP claims).
"""

from __future__ import annotations

import numpy as np

from sim import response
from sim.codes import ASYLUM, FUNDERS, INTERIM, SHELTER, UNSHELTERED
from sim.mesa_import import mesa
from sim.params_response import GovernmentRule

QUARTER_WEEKS = 13


class Government(mesa.Agent):
    """One order of government above the cities (``funder`` is "federal" or "provincial")."""

    def __init__(self, model: mesa.Model, name: str, funder: str, cities: list[int]) -> None:
        super().__init__(model)
        self.name = name
        self.funder = funder
        self.cities = cities
        self.crisis_weeks = 0
        self.spent_this_year = 0.0
        self.paid_total = 0.0
        self.last_help: dict[int, int] = {}  # city -> week of the last ad hoc top-up or site

    @property
    def rule(self) -> GovernmentRule:
        """Read from the model's scenario each week, so a timeline can change it."""
        g = self.model.scenario.governments
        return g.federal if self.funder == "federal" else g.provinces[self.name]

    def envelope_left(self) -> float:
        return max(0.0, self.rule.envelope_per_year - self.spent_this_year)

    def in_crisis(self, i: int) -> bool:
        m = self.model.municipalities[i]
        sc = self.model.scenario
        return (m.emergency.strain_weeks >= sc.response.trigger_weeks
                and m.emergency.pressure >= sc.politics.act_pressure)

    def act(self, strain: np.ndarray, quarter_start: bool, year_start: bool) -> None:
        """Weekly decision. ``strain``: agents unsheltered or in overflow per city."""
        r = self.rule
        if year_start:
            self.spent_this_year = 0.0
        if r.shelter_funding == "formula" and quarter_start:
            self._advance()
        crisis = [i for i in self.cities if self.in_crisis(i)]
        self.crisis_weeks = self.crisis_weeks + 1 if len(crisis) >= r.crisis_cities else 0
        if not crisis or self.crisis_weeks <= r.political_lag_weeks:
            return
        week = self.model.week
        due = [i for i in crisis if week - self.last_help.get(i, -10**6) >= r.cooldown_weeks]
        if not due:
            return
        if r.shelter_funding == "adhoc":
            self._topup(due, strain)
        if r.opens_sites:
            self._open_sites(due, strain)
        for i in due:
            self.last_help[i] = week

    def _pay(self, i: int, amount: float) -> None:
        self.model._transfer(i, FUNDERS.index(self.funder), amount)
        self.spent_this_year += amount
        self.paid_total += amount

    def _topup(self, due: list[int], strain: np.ndarray) -> None:
        """One-time money covering ``topup_weeks`` of each city's strain at overflow cost."""
        r = self.rule
        k = self.model.scale
        cost = self.model.scenario.funding.overflow_bed_week_cad
        want = np.array([strain[i] * k * cost * r.topup_weeks for i in due])
        if want.sum() <= 0:
            return
        paid = want * min(1.0, self.envelope_left() / want.sum())
        for i, amount in zip(due, paid, strict=True):
            if amount > 0:
                self._pay(i, float(amount))
                self.model.log("topup", (
                    f"{self.name} ad hoc top-up to {self.model.municipalities[i].name}: "
                    f"${amount:,.0f} after {self.crisis_weeks} weeks of crisis"))

    def _open_sites(self, due: list[int], strain: np.ndarray) -> None:
        """Sites of the government's own kinds where the city's places fall short."""
        sc = self.model.scenario
        r = sc.response
        k = self.model.scale
        mine = response.kinds_of(r, self.funder)
        if not mine:
            return
        names = list(r.kinds)
        for i in due:
            m = self.model.municipalities[i]
            e = m.emergency
            gap = int(np.ceil(strain[i] * (1.0 + r.margin))) - int(e.on_order().sum())
            room = response.limits(r, m.params.population, k) - e.open - e.on_order()
            places = response.order(gap, mine, room, np.full(len(names), 10**12))
            for kd in mine:
                if places[kd]:
                    lead = round(r.kinds[names[kd]].lead_weeks * r.speed)
                    e.add(self.model.week + lead, kd, int(places[kd]), self.funder)
                    self.model.log("site_opened", (
                        f"{self.name} opens {places[kd] * k:,.0f} {names[kd]} places in "
                        f"{m.name} (in {lead} weeks)"))

    def _advance(self) -> None:
        """Formula: a quarter's share of the claimant shelter cost, paid before it falls due."""
        r = self.rule
        k = self.model.scale
        cost = self.model.scenario.funding.overflow_bed_week_cad
        counts = self.model.tally.counts
        want = np.array([counts[i, ASYLUM, [UNSHELTERED, SHELTER, INTERIM]].sum() * k * cost
                         * QUARTER_WEEKS * r.formula_share for i in self.cities])
        if want.sum() <= 0:
            return
        paid = want * min(1.0, self.envelope_left() / want.sum())
        for i, amount in zip(self.cities, paid, strict=True):
            if amount > 0:
                self._pay(i, float(amount))
        if paid.sum() > 0:
            self.model.log("formula_advance", (
                f"{self.name} formula advance: ${paid.sum():,.0f} to "
                f"{int((paid > 0).sum())} cities"))
