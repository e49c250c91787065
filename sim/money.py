"""Process 8 of the week, money: disbursements, salaries, shelter costs, refunds and transfers,
and the quarterly and yearly decisions they feed (a part of ``ReceptionModel``)."""

from __future__ import annotations

import numpy as np

from sim import response
from sim.agency import QUARTER, Agency
from sim.codes import ASYLUM, FUNDERS, N_FUNDER, PROVINCIAL, SHELTER, SPENDING_LINES, WEEKS_PER_YEAR

LINE_SHELTER_BEDS, LINE_OVERFLOW, LINE_EMERGENCY, LINE_INTERIM, LINE_SERVICES = (
    SPENDING_LINES.index(line) for line in ("shelter_beds", "overflow", "emergency_places",
                                            "interim_housing", "services"))


class Money:
    """The model's money step; mixed into ``ReceptionModel``, whose state it reads and
    writes (municipalities, agencies, governments, week_stats, tally, claims_queue)."""

    def fund_and_decide(self) -> None:
        """8. Disbursements, salaries, shelter costs, IHAP; quarterly and yearly decisions."""
        f = self.scenario.funding
        svc = self.scenario.services
        n_muni = len(self.municipalities)
        spend = np.zeros((n_muni, N_FUNDER))
        lines = np.zeros((n_muni, len(SPENDING_LINES)))
        quarter_start = (self.week - self.fy_offset) % QUARTER == 0
        year_start = (self.week - self.fy_offset) % WEEKS_PER_YEAR == 0 and self.week > 0
        for m in self.municipalities:
            m.weekly_income()
            m.rent *= (1.0 + m.params.rent_growth_per_year) ** (1.0 / WEEKS_PER_YEAR)
        for ag in self.agencies:
            renewed = ag.renew_or_expire(self.week, self.rng)
            if quarter_start or self.week == 0 or renewed:
                grants = None if quarter_start or self.week == 0 else renewed
                self._disburse(ag, ag.due(self.week, self._weeks_to_next_quarter(), grants),
                               spend, lines)
            ag.plan_staff(self.week, svc, f.hire_lag_weeks, f.layoff_lag_weeks)
            ag.apply_staff_changes(self.week)
            ag.pay_staff(self.week, svc, self._weeks_to_next_quarter())
        self._pay_shelter_costs(spend, lines)
        self.respond(quarter_start, year_start)
        spend += self._transfers
        spend[:, FUNDERS.index("municipal")] -= self._transfers.sum(axis=1)
        self.week_stats["transfers"] = self._transfers.copy()
        if quarter_start:
            occ = self.week_stats["occupancy"] * self.scale
            # emergency places opened by the response are capacity, not over-capacity
            emergency = self.week_stats["emergency_open"].sum(axis=1) * self.scale
            beds = self.week_stats["beds"] * self.scale + emergency
            for m in self.municipalities:
                i = m.index
                fill = m.params.public_fill(occ[i, 0], emergency[i])
                m.update_sentiment(self.scenario.sentiment, occ[i, 2], fill)
                m.review_cap(occ[i, 0], beds[i])
        if year_start:
            for m in self.municipalities:
                m.new_fiscal_year(self.scenario.sentiment, self.scenario.politics, self.rng)
        self.week_stats["spend"] = spend
        self.week_stats["spend_lines"] = lines
        self.week_stats["staff"] = np.bincount([ag.muni for ag in self.agencies],
                                               [ag.staff for ag in self.agencies],
                                               minlength=n_muni)

    def respond(self, quarter_start: bool, year_start: bool) -> None:
        """Crisis response: cities weigh strain and pressure; governments above them act."""
        occ = self.week_stats["occupancy"]
        overflow = self.week_stats["overflow_occupancy"]
        emergency = self.week_stats["emergency_by_kind"].sum(axis=1)
        for m in self.municipalities:
            i = m.index
            m.respond(self.scenario, int(occ[i, 2]), int(overflow[i]), int(emergency[i]))
        strain = occ[:, 2] + overflow
        for g in self.governments:
            g.act(strain, quarter_start, year_start)

    def _disburse(self, ag: Agency, due: np.ndarray, spend: np.ndarray,
                  lines: np.ndarray) -> None:
        """Funders pay an agency in advance; a city pays only what its budget allows."""
        mun = FUNDERS.index("municipal")
        due[mun] = self.municipalities[ag.muni].spend(due[mun])
        ag.receive(due)
        spend[ag.muni] += due
        lines[ag.muni, LINE_SERVICES] += due.sum()

    def _weeks_to_next_quarter(self) -> int:
        return QUARTER - (self.week - self.fy_offset) % QUARTER

    def _pay_shelter_costs(self, spend: np.ndarray, lines: np.ndarray) -> None:
        """Beds, overflow and emergency places; interim places (federal); cost-sharing.

        IHAP refunds (and provincial shares) move cost from the city to the payer, so
        spending by order of government is net of them and sums to spending by line.
        """
        f = self.scenario.funding
        k = self.scale
        occ = self.week_stats["occupancy"] * k
        all_beds = self.week_stats["beds"] * k
        overflow = self.week_stats["overflow_occupancy"] * k
        counts = self.tally.counts
        in_shelter = counts[:, :, SHELTER].sum(axis=1)
        # every city's places at once; a city's row is then what it pays
        emergency_paid = response.cost_per_week(
            self.scenario.response, np.array([m.emergency.open for m in self.municipalities],
                                             np.int64).reshape(len(self.municipalities), -1), k)
        mun, fed = FUNDERS.index("municipal"), FUNDERS.index("federal")
        shares = self.scenario.governments.provinces
        regular = np.minimum(occ[:, 0], all_beds) * f.shelter_bed_week_cad
        overflow_cost = overflow * f.overflow_bed_week_cad
        interim = occ[:, 1] * f.interim_place_week_cad
        owed = overflow_cost + emergency_paid[:, 0]
        paid = np.empty(len(self.municipalities))
        # city by city, in plain floats (the same numbers; NumPy scalars cost more here)
        for m, due, regular_i, claimants, sheltered in zip(
                self.municipalities, owed.tolist(), regular.tolist(),
                counts[:, ASYLUM, SHELTER].tolist(), in_shelter.tolist(), strict=True):
            i = m.index
            paid[i] = paid_i = m.spend(due, overflow=True)  # what each city can pay
            # claimants' share of shelter users, from last week's tally; who refunds it
            claimant_share = claimants / sheltered if sheltered else 0.0
            claimant_cost = (regular_i + paid_i) * claimant_share
            if claimant_cost > 0 and (f.ihap_predictable
                                      or self.rng.random() < f.ihap_adhoc_payment):
                self.claims_queue.append((self.week + f.ihap_lag_weeks, i, fed,
                                          claimant_cost * f.ihap_share))
            rule = shares.get(m.params.province)
            if claimant_cost > 0 and rule is not None and rule.claimant_cost_share > 0:
                self.claims_queue.append((self.week + rule.cost_share_lag_weeks, i, PROVINCIAL,
                                          claimant_cost * rule.claimant_cost_share))
        unfunded = owed - paid
        emergency_paid[:, 0] = np.minimum(emergency_paid[:, 0], paid)  # its places first
        spend[:, mun] += regular + paid
        spend[:, fed] += interim
        for p, payer in enumerate(response.PAYERS[1:], start=1):
            spend[:, FUNDERS.index(payer)] += emergency_paid[:, p]
        lines[:, LINE_SHELTER_BEDS] += regular
        lines[:, LINE_OVERFLOW] += paid - emergency_paid[:, 0]
        lines[:, LINE_INTERIM] += interim
        lines[:, LINE_EMERGENCY] += emergency_paid.sum(axis=1)
        due = [q for q in self.claims_queue if q[0] <= self.week]
        self.claims_queue = [q for q in self.claims_queue if q[0] > self.week]
        for _, i, funder, amount in due:
            self._transfer(i, funder, amount)
            if funder == fed:
                self.municipalities[i].ihap_received += amount
        self.week_stats["overflow_unfunded"] = unfunded
        self.week_stats["emergency_paid"] = emergency_paid

    def _transfer(self, i: int, funder: int, amount: float) -> None:
        """Money from another order of government into city ``i``'s newcomer cash.

        Counted as the payer's spending and taken off the city's (fund_and_decide), so
        money that passes through a city is not counted twice.
        """
        self.municipalities[i].cash += amount
        self._transfers[i, funder] += amount
