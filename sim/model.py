"""ReceptionModel: set-up and a weekly ``step()`` that reads like MODEL.md section 3."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sim import francophone, kernels, paths, provinces, resources, response
from sim.agency import Agency
from sim.arrival_ledger import ArrivalLedger
from sim.arrivals import add_people, arrive
from sim.claims import ClaimsQueue, pending_claims
from sim.codes import (
    AGE_BAND_YEARS,
    AGES,
    DIMENSIONS,
    FUNDERS,
    N_FUNDER,
    N_SERVICE,
    SHELTER,
    WEEKS_PER_YEAR,
)
from sim.dim_sums import DimensionSums
from sim.earlier import seed_earlier_newcomers
from sim.government import Government
from sim.integrating import Integrating
from sim.kernels import (
    PROC_HOUSING,
    PROC_MOVES,
    PROC_RECEPTION,
    PROC_SERVICES,
    PROC_STATUS,
)
from sim.mesa_api import WeekCollector, with_params
from sim.mesa_import import mesa
from sim.migrant import Migrant
from sim.money import Money
from sim.municipality import Municipality
from sim.outputs import Tally
from sim.params import Scenario
from sim.series import weekly_arrivals
from sim.serving import Serving
from sim.state import MigrantArrays
from sim.week_log import History, WeekLog

# What ``log`` counts: the run summary reports each as ``events_<kind>``.
EVENT_KINDS = ("timeline", "transfer", "emergency_order", "emergency_closure", "cap_imposed",
               "cap_lifted", "budget_raised", "topup", "site_opened", "formula_advance")


class ReceptionModel(Money, Serving, Integrating, mesa.Model):
    """Migrant reception in a system of municipalities, one step per week.

    Args:
        scenario: a validated ``Scenario``, or a scenario file's path or bundled name
            (``"classroom"``, ``"canada_baseline.toml"``; ``sim.paths.scenario_file``).
        seed: overrides ``run.seed``; the same scenario and seed give identical output.
        **params: parameter paths and values, ``**{"municipalities.Toronto.shelter_beds":
            2000}``, set before the run (``mesa.batch_run`` grids over them; see
            ``sim.mesa_api``).

    ``running`` turns False at the scenario's horizon, so ``run_model()`` and
    ``mesa.batch_run`` stop there. Migrant views (``migrant(row)``) are not registered:
    ``model.agents`` holds the municipalities and agencies only.
    """

    def __init__(self, *, scenario: Scenario | str | Path = "canada_baseline",
                 seed: int | None = None, **params: Any) -> None:
        scenario = with_params(scenario, params)
        scenario = scenario.model_copy(deep=True)  # timelines change it as the run goes
        if seed is not None:
            scenario.run.seed = seed
        super().__init__(seed=scenario.run.seed)
        self.scenario = scenario
        self.seed = scenario.run.seed
        self._keys_week = -1  # the week ``_keys`` were made for (``_key``)
        self.scale = scenario.run.scale
        self.week = 0
        self.start_date = scenario.scenario.start_date
        self.fy_offset = self._weeks_to_fiscal_year_start()
        self.municipalities = [Municipality(self, m, i)
                               for i, m in enumerate(scenario.municipalities)]
        index = scenario.muni_index()
        self.agencies = [Agency(self, a, index[a.municipality]) for a in scenario.agencies]
        self.governments = [Government(self, "federal", "federal",
                                       list(range(len(self.municipalities))))]
        self.governments += [
            Government(self, p, "provincial",
                       [i for i, m in enumerate(scenario.municipalities) if m.province == p])
            for p in scenario.governments.provinces]
        self.series_arrivals = {
            name: weekly_arrivals(stream.series, self.start_date, scenario.run.weeks)
            for name, stream in scenario.streams.items() if stream.series is not None}
        resources.guard(scenario)  # before allocating: a run that cannot fit never starts
        self.migrants = MigrantArrays.allocate(self._expected_migrants())
        self._fixed: dict[str, Any] = {}  # ``fixed``: values of parameters alone
        self._constants()
        self._seed_initial_shelter_stock()
        self.claims = ClaimsQueue(self)  # before the earlier newcomers: it counts the rows
        self.first_week = seed_earlier_newcomers(self)  # the earliest arrival week (<= 0)
        self.acceptance = self.claim_acceptance(self.scenario.run.weeks)
        self.hours_carry = np.zeros((len(self.municipalities), N_SERVICE, N_FUNDER))
        self._views: dict[int, Migrant] = {}
        self.events: list[tuple[int, str]] = []  # (week, what happened), in order
        self.event_counts: dict[str, int] = dict.fromkeys(EVENT_KINDS, 0)
        self._transfers = np.zeros((len(self.municipalities), N_FUNDER))
        # cost-sharing claims: (week due, municipality, funder index, CAD)
        self.claims_queue: list[tuple[int, int, int, float]] = []
        self.week_log = WeekLog(self)
        self.ledger = ArrivalLedger.of(self.migrants, len(self.municipalities),
                                       scenario.run.weeks)
        self.dim_sums = DimensionSums(scenario.run.dims_refresh_weeks, len(self.municipalities),
                                      scenario.integration.adjust_per_week, self.index_weights)
        self.kept_counts = kernels.KeptCounts.empty(len(self.municipalities))  # the tally's
        self.week_stats: dict[str, Any] = {}
        # this week's inputs of the dimensions' targets (none before the first week)
        self.targets_now: kernels.TargetTables | None = None
        self.tally = Tally.of(self)
        self.datacollector = WeekCollector()
        self.running = scenario.run.weeks > 0

    # ------------------------------------------------------------------ set-up
    def _weeks_to_fiscal_year_start(self) -> int:
        """Weeks from week 0 to the first fiscal-year start (quarters align to it)."""
        d = self.start_date
        month = self.scenario.scenario.fiscal_year_start_month
        fy = date(d.year if d.month < month or (d.month == month and d.day == 1) else d.year + 1,
                  month, 1)
        return ((fy - d).days // 7) % WEEKS_PER_YEAR

    def _expected_migrants(self) -> int:
        per_year = sum(s.per_year for n, s in self.scenario.streams.items()
                       if n not in self.series_arrivals)
        per_year += sum(r.mean() * WEEKS_PER_YEAR for r in self.series_arrivals.values())
        peak = max([1.0] + [sh.multiplier for sh in self.scenario.shocks])
        stock = sum(m.initial_shelter_occupancy + m.earlier_newcomers
                    for m in self.scenario.municipalities)
        years = self.scenario.run.weeks / WEEKS_PER_YEAR
        return int((per_year * years * min(peak, 2.0) + stock) / self.scale * 1.1) + 64

    def _constants(self) -> None:
        """Arrays the kernels need that do not change within a run."""
        sc = self.scenario
        self.eligible = provinces.eligibility(sc)  # [city, funder, status]
        self.income_none = provinces.income_without_job(sc)  # [city, status] CAD/month
        self.delivered = provinces.delivered_by_province(sc)  # [city, service]
        self.grant_factor = np.array([sc.funding.grant_factor[f] for f in FUNDERS])
        services = sc.services.by_code()
        self.hours_per_week = np.array([s.hours_per_week for s in services])
        self.duration = np.array([s.duration_weeks for s in services], np.int64)
        lat = np.radians([m.lat for m in sc.municipalities])
        lon = np.radians([m.lon for m in sc.municipalities])
        cos_angle = (np.sin(lat)[:, None] * np.sin(lat)[None, :]
                     + np.cos(lat)[:, None] * np.cos(lat)[None, :]
                     * np.cos(lon[:, None] - lon[None, :]))
        self.distance_km = 6371.0 * np.arccos(np.clip(cos_angle, -1.0, 1.0))
        st, h, e, i = sc.status, sc.housing, sc.employment, sc.integration
        self.status_params = kernels.StatusParams(
            st.rejected_departure, st.permit_to_pr, st.permit_renewal,
            st.permit_departure, st.permit_weeks_worker, st.permit_weeks_student,
            st.regularization_per_year / WEEKS_PER_YEAR, st.emigration_per_year / WEEKS_PER_YEAR,
            st.regularized_permit_weeks)
        self.loss_params = kernels.LossParams(h.friends_breakdown_per_week,
                                              h.precarious_loss_per_week, h.lost_to_friends)
        self.housing_params = kernels.HousingParams(
            h.affordable_rent_share, h.housing_help_boost, h.stable_loss_per_week,
            e.income_survival, e.income_matched, e.second_earner)
        self.index_weights = np.array([i.weights[d] for d in DIMENSIONS], float)
        sec, acc = i.security, i.public_access
        self.integration_params = kernels.IntegrationParams(
            e.language_gain_per_week, e.language_gain_in_class, e.job_find_per_week,
            e.match_per_week, e.service_boost, e.job_loss_per_week, e.no_permit_factor,
            i.adjust_per_week, i.service_quality_weight,
            sec.permanent, sec.temporary, sec.non_status, sec.non_status_with_policy(False),
            sec.non_status_with_policy(True), acc.with_status, acc.non_status(False),
            acc.non_status(True))
        ages = sc.ages
        self.by_age = np.ones((2, len(AGES)))
        for band, factor in ages.job_find_factor.items():
            self.by_age[0, AGES.index(band)] = factor
        self.by_age[1, AGES.index("child")] = ages.school_language_factor
        self.ageing_p = np.zeros(len(AGES))
        if ages.ageing:
            self.ageing_p[:-1] = 1.0 / (WEEKS_PER_YEAR * np.array(AGE_BAND_YEARS))
        weights = [s.per_year for s in sc.streams.values()]
        sizes = [s.household_size for s in sc.streams.values()]
        self.persons_per_unit = float(np.average(sizes, weights=weights)) if sum(weights) else 2.5

    def _seed_initial_shelter_stock(self) -> None:
        """Newcomers already in shelter at week 0 are asylum claimants mid-process."""
        stock = [round(m.initial_shelter_occupancy / self.scale)
                 for m in self.scenario.municipalities]
        if sum(stock) == 0:
            return
        munis = np.repeat(np.arange(len(stock)), stock)
        rows = add_people(self.migrants, self.scenario, "asylum_claimant", 0, self.rng, munis,
                          self._policy_array("outreach"), housing=SHELTER)
        wait = self.scenario.status.asylum_decision_weeks
        due = 1 + np.floor(self.rng.uniform(0, wait, len(munis)))
        self.migrants.columns["status_due"][rows] = due.astype(np.int16)

    def claim_acceptance(self, last: int) -> kernels.ClaimAcceptance:
        """Acceptance of claims made in weeks -1 (the week-0 stock's) or ``first_week`` to
        ``last``: ``claims_board.acceptance_by_claim_year`` for the calendar year of the
        week's Monday, else ``status.asylum_acceptance``."""
        by_year = self.scenario.claims_board.acceptance_by_claim_year
        default = self.scenario.status.asylum_acceptance
        first = min(self.first_week, -1)
        table = np.array([by_year.get(self.date_of(w).year, default)
                          for w in range(first, last + 1)], np.float64)
        return kernels.ClaimAcceptance(table, first, self.claims.stock_rows)

    def acceptance_to(self, week: int) -> kernels.ClaimAcceptance:
        """The acceptance table, extended if the run goes on past ``run.weeks``."""
        a = self.acceptance
        if week - a.first >= len(a.by_week):
            self.acceptance = self.claim_acceptance(week)
        return self.acceptance

    def pending_stock_claims(self, rows: int) -> int:
        """Undecided claims among the first ``rows`` migrants (the week-0 stock)."""
        a = self.migrants
        return pending_claims(a.status[:rows], a.housing[:rows], a.status_due[:rows])

    def fixed(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()``, a value of the parameters alone, computed once: parameters change
        only through the timeline, which empties this store (``_refresh``)."""
        if key not in self._fixed:
            self._fixed[key] = make()
        return self._fixed[key]

    def _policy_array(self, name: str) -> np.ndarray:
        return np.array([m.policies[name] for m in self.municipalities])

    # ------------------------------------------------------------------ queries
    def date_of(self, week: int) -> date:
        return self.start_date + timedelta(weeks=int(week))

    def migrant(self, row: int) -> Migrant:
        """The Mesa agent view on one migrant row, created on first request."""
        if row not in self._views:
            self._views[row] = Migrant(self, row)
        return self._views[row]

    def log(self, kind: str, text: str) -> None:
        """Record an event of this week (run.json, the app's log) and count it by kind."""
        self.events.append((self.week, text))
        self.event_counts[kind] += 1

    def _key(self, process: int) -> np.uint64:
        """This week's key of a process's random stream (the week's keys made at once)."""
        if self._keys_week != self.week:
            self._keys = kernels.stream_keys(self.seed, self.week, PROC_SERVICES + 1)
            self._keys_week = self.week
        return self._keys[process]

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week, in the order of MODEL.md section 3."""
        self.week_stats = {}
        self.apply_timeline()
        self.arrive()
        self.decide_status()
        self.receive()
        self.house()
        self.serve()
        self.integrate()
        self.move()
        self.fund_and_decide()
        self.collect()
        self.week += 1
        self.running = self.week < self.scenario.run.weeks

    def apply_timeline(self) -> None:
        """Scenario timeline: parameter changes and one-time transfers due this week."""
        for change in self.scenario.timeline:
            if change.week == self.week:
                for key, value in change.set.items():
                    paths.assign(self.scenario, key, value)
                    self._refresh(paths.split(key))
                self.dim_sums.settle_all = True  # policies and conditions count at once
                self.log("timeline", change.note or ", ".join(change.set))
        self._transfers[:] = 0.0
        index = self.scenario.muni_index()
        for t in self.scenario.transfers:
            if t.week == self.week:
                self._transfer(index[t.municipality], FUNDERS.index(t.funder), t.amount)
                self.log("transfer", t.note or f"{t.funder} transfer to "
                         f"{t.municipality}: ${t.amount:,.0f}")

    def _refresh(self, parts: list[str]) -> None:
        """Carry a changed parameter into the agents and constants that copied it."""
        self._fixed.clear()
        if parts[0] == "municipalities":
            m = self.municipalities[self.scenario.muni_index()[parts[1]]]
            m.refresh(parts[2:])
        elif parts[0] == "agencies":
            ag = next(a for a in self.agencies if a.name == parts[1])
            ag.refresh(parts[2:])
        else:
            self._constants()
            self.acceptance = self.claim_acceptance(max(self.week, self.scenario.run.weeks))

    def arrive(self) -> None:
        """1. New migrants by stream into municipalities by destination choice."""
        pops = self.fixed("populations",
                          lambda: np.array([m.params.population for m in self.municipalities]))
        share = self.tally.present() * self.scale / pops
        people = {name: (self.series_arrivals[name][self.week] if name in self.series_arrivals
                         else stream.per_year / WEEKS_PER_YEAR)
                  for name, stream in self.scenario.streams.items()}
        first = self.migrants.n
        self.week_stats["arrivals"] = arrive(self.migrants, self.scenario, self.week, share,
                                             self._policy_array("outreach"), people,
                                             self.fixed("arrival_tables", dict))
        self.ledger.add(self.migrants, first, self.migrants.n)
        self.week_stats["francophone_arrivals"] = francophone.arrivals(
            self.migrants, first, len(self.municipalities))

    def decide_status(self) -> None:
        """2. Asylum decisions (by the board's capacity, if funded), permits, emigration."""
        a = self.migrants
        events = np.zeros(6, np.int64)
        quota = self.claims.quota(self)
        kernels.step_status(a.status, a.housing, a.status_due, a.arrival_week, self.week,
                            self._key(PROC_STATUS), self.status_params, quota,
                            self.acceptance_to(self.week), events)
        self.claims.settle(quota, int(events[0] + events[1]))
        self.week_stats["status_events"] = events

    def receive(self) -> None:
        """3. Those without a place to sleep seek shelter; caps and overflow apply.

        Emergency places opened by the crisis response count as beds, filled after the
        regular ones; the occupancy is split back into regular, emergency and overflow.
        """
        a = self.migrants
        emergency = self.emergency_places()
        beds, interim, overflow, capped = self.shelter_capacity()
        occupancy = np.zeros((len(beds), 3), np.int64)
        kernels.step_reception(a.housing, a.muni, a.shelter_week, self.week,
                               self._key(PROC_RECEPTION), self.loss_params,
                               beds + emergency.sum(axis=1), interim, overflow, capped, occupancy)
        self.record_reception(occupancy, beds, emergency, capped)

    def emergency_places(self) -> np.ndarray:
        """Open the emergency places due this week; the places open per (city, kind), agents."""
        for m in self.municipalities:
            m.emergency.open_due(self.week)
        return np.array([m.emergency.open for m in self.municipalities], np.int64)

    def record_reception(self, occupancy: np.ndarray, beds: np.ndarray, emergency: np.ndarray,
                         capped: np.ndarray) -> None:
        """This week's shelter use, split into regular beds, emergency places and overflow."""
        in_emergency = np.clip(occupancy[:, 0] - beds, 0, emergency.sum(axis=1))
        self.week_stats.update(
            occupancy=occupancy, capped=capped, beds=beds, emergency_open=emergency,
            emergency_by_kind=response.fill_by_kind(in_emergency, emergency),
            overflow_occupancy=occupancy[:, 0] - np.minimum(occupancy[:, 0], beds) - in_emergency)

    def shelter_capacity(self) -> tuple[np.ndarray, ...]:
        """This week's regular beds, interim places and affordable overflow (agents), caps."""
        k = self.scale
        munis = self.municipalities
        beds, interim = self.fixed("places", lambda: (
            np.array([round(m.params.newcomer_beds() / k) for m in munis], np.int64),
            np.array([round(m.params.interim_places / k) for m in munis], np.int64)))
        overflow = np.array(
            [int(m.affordable_overflow(self.scenario.funding) / k) if m.policies["overflow"]
             else 0 for m in munis], np.int64)
        return beds, interim, overflow, self._policy_array("intake_cap")

    def house(self) -> None:
        """4. Housing search against vacancies, rents and competing demand."""
        a = self.migrants
        search_p, lettings = self.housing_market()
        moves = np.zeros((len(self.municipalities), 2), np.int64)
        rents = np.array([m.rent for m in self.municipalities])
        kernels.step_housing(a.housing, a.muni, a.status, a.employment, a.skill, a.household,
                             a.svc_state, a.stable_week, self.week, self._key(PROC_HOUSING),
                             self.housing_params, self.income_none, search_p, rents, lettings,
                             self.ledger.first_stable(a, self.week), moves)
        self.week_stats["housing_moves"] = moves

    def housing_market(self) -> tuple[np.ndarray, np.ndarray]:
        """Search success per city (vacancy, climate) and the lettings newcomers can win."""
        h = self.scenario.housing
        munis = self.municipalities
        vacancy, people = self.fixed("housing_market", lambda: (
            np.minimum(1.0, np.array([m.params.vacancy_rate for m in munis])
                       / h.reference_vacancy),
            np.array([(m.params.rental_stock * h.rental_turnover_per_year
                       + m.params.new_supply_per_year) / WEEKS_PER_YEAR for m in munis])
            * h.newcomer_share_of_lettings * self.persons_per_unit / self.scale))
        climate = (1.0 - h.discrimination * (1.0 - np.array([m.sentiment for m in munis]))) * (
            1.0 + h.welcoming_boost * np.array([m.policies["welcoming_strategy"] for m in munis]))
        search_p = np.minimum(1.0, h.search_rate * vacancy * climate)
        whole = people.astype(np.int64)  # each city's fraction of a letting by a draw, in order
        lettings = whole + (self.rng.random(len(munis)) < people - whole)
        return search_p, lettings

    def move(self) -> None:
        """7. Secondary moves toward jobs, housing and networks."""
        a = self.migrants
        n_muni = len(self.municipalities)
        move_p, cdf = self.move_choices()
        moves = np.zeros((n_muni, n_muni), np.int64)
        kernels.step_moves(a.housing, a.muni, a.employment, self._key(PROC_MOVES), move_p,
                           self.scenario.moves.unsettled_factor, cdf, moves)
        self.week_stats["moves"] = moves

    def move_choices(self) -> tuple[np.ndarray, np.ndarray]:
        """Weekly move chance of a settled person per city, and the destination table."""
        mv = self.scenario.moves
        h = self.scenario.housing
        present = self.tally.present() * self.scale
        move_p = self.fixed("move_p", lambda: np.array([
            mv.base_per_year / WEEKS_PER_YEAR
            * (1.0 + mv.transport_factor * (1.0 - m.params.transport_access))
            for m in self.municipalities]))
        jobs_and_homes, population, weight = self.fixed("pull_constants", lambda: (
            np.array([m.params.labour_demand * min(1.0, m.params.vacancy_rate
                                                   / h.reference_vacancy)
                      for m in self.municipalities]),
            np.array([m.params.population for m in self.municipalities]),
            np.array([max(m.params.destination_weight, 1e-9) for m in self.municipalities])))
        pull = (jobs_and_homes * (1.0 + self.scenario.network_weight * present / population)
                * weight)
        attraction = pull[None, :] * self.fixed(
            "distance_decay", lambda: 0.5 ** (self.distance_km / mv.distance_scale_km))
        np.fill_diagonal(attraction, 0.0)
        rows = attraction.sum(axis=1, keepdims=True)
        cdf = np.cumsum(np.divide(attraction, rows, out=np.zeros_like(attraction),
                                  where=rows > 0), axis=1)
        return move_p, cdf

    def collect(self) -> None:
        """9. Data collection: the tally, kept with the week's statistics; the output
        columns are built from them when read (``sim.week_log``)."""
        self.tally = self.take_tally()
        self.week_log.keep(self.tally)
        self.datacollector.collect(self)

    @property
    def municipal_history(self) -> History:
        """Each week's per-municipality columns (a mapping of arrays), oldest first."""
        return History(self.week_log)

    @property
    def week_totals(self) -> dict[str, float]:
        """The last week's system totals ({} before the first week)."""
        return self.week_log.total(-1) if len(self.week_log) else {}

    @property
    def cumulative_spend(self) -> float:
        """All spending so far, every funder (CAD)."""
        return self.week_log.cumulative_spend

    def take_tally(self) -> Tally:
        """The end-of-week pass over every migrant that the outputs are built from."""
        return Tally.of(self)

    # ------------------------------------------------------------------ running
    def run(self, weeks: int | None = None, progress: bool = False,
            check: Callable[[], None] | None = None) -> None:
        """Step ``weeks`` weeks (default: on to the scenario horizon).

        ``check`` is called before each week and at the end; it may raise to stop the run (the
        command line raises a signal whose exception a callback swallowed).
        """
        from tqdm import tqdm

        check = check or (lambda: None)
        n = max(0, self.scenario.run.weeks - self.week) if weeks is None else weeks
        for _ in tqdm(range(n), desc=self.scenario.scenario.name, unit="week",
                      disable=not progress, mininterval=1.0, delay=3.0):
            check()
            self.step()
        check()
