"""A reference model: the weekly migrant rules written the plain Mesa way.

Every migrant is a ``Person`` (a ``mesa.Agent``, ``reference_person.py``) with plain Python
attributes and one method per weekly verb, stepped with ``AgentSet.do`` in creation (= arrival)
order, the first-come-first-served order of every queue. It measures what the numba core buys
and checks, statistically, that both implement the same rules (``tests/test_reference.py``).

Shared with the core (model-level Python): ``ReferenceModel`` subclasses ``ReceptionModel`` and
inherits set-up, timeline, arrivals (``sim.arrivals`` writes each week's newcomers into a scratch
table that becomes ``Person`` agents at once, francophone flags and language included), money
and decisions, and the output tables, so every outcome is defined once. Rewritten here, per
agent, from ``docs/ODD.md`` 7.2-7.7: processes 2-7 and the end-of-week tally; their per-week
municipal inputs (beds, lettings, service pools, features, destinations) and the city-level
tables of the services (the pools' eligibility classes, ``kernels.eligibility_classes``; the
lapse and take-up chances, ``request_params``; the referral fit, francophones' with
``sim.francophone``) are computed as in ``sim/model.py``. The services follow issue 18:
before the queue each person's waiting requests may lapse and, after a change of status, the
services he or she is without may be asked for again (``Person.review_requests``); each
referral from a waiting list fits or costs intake hours (``Person._take_hours``).

Randomness: one ``model.random.random()`` per draw the kernels make, only where they make it,
so runs equal the core's in distribution only. Floats are Python floats (float32 in the core).
"""

from __future__ import annotations  # noqa: I001 (the person's module sits beside this one)

import numpy as np
from mesa.agent import AgentSet

from sim import francophone, kernels
from sim.codes import ASYLUM, DEPARTED, N_DIM, N_HOUSING, N_SERVICE, N_STATUS
from sim.model import ReceptionModel
from sim.outputs import (ACTIVE_WINDOW_WEEKS, RECENT_WEEKS, REFUGEE_GROUP, Tally,
                         eligibility_table)
from sim.state import MigrantArrays

from reference_person import Person


def _zeros(*shape):
    """Nested Python lists of zeros (plain Python state for the per-agent loops)."""
    if len(shape) == 1:
        return [0] * shape[0]
    return [_zeros(*shape[1:]) for _ in range(shape[0])]


class _TallyLists:
    """The arrays of ``sim.outputs.Tally`` as nested lists, filled by ``Person.report``."""

    def __init__(self, model, n_muni):
        self.week, self.window, self.recent = model.week, ACTIVE_WINDOW_WEEKS, RECENT_WEEKS
        self.settling = model.features is not None
        self.weights = model.index_weights.tolist()
        self.refugee = [int(x) for x in REFUGEE_GROUP]
        self.counts = _zeros(n_muni, N_STATUS, N_HOUSING)
        self.services = _zeros(n_muni, N_SERVICE, 3)
        self.dims = _zeros(n_muni, N_DIM + 1)
        self.status_index = [0.0] * N_STATUS
        self.status_count = [0] * N_STATUS
        self.hist = _zeros(n_muni, 10)
        self.misc = _zeros(n_muni, 14)
        self.homeless = _zeros(n_muni, 2)
        self.eligibility = eligibility_table(model).tolist()
        self.waiting_by = _zeros(n_muni, N_SERVICE, 3)


class ReferenceModel(ReceptionModel):
    """``ReceptionModel`` with processes 2-7 and the tally done per ``Person`` agent in Python.

    Args:
        scenario: a ``sim.params.Scenario`` (or a TOML path); seed: overrides ``run.seed``.
    """

    features = None  # the week's city features as lists (none before the first week)

    def __init__(self, *, scenario, seed=None):
        super().__init__(scenario=scenario, seed=seed)
        self._adopt(self.migrants)  # the initial shelter stock, drawn by the core's set-up
        self.stock = frozenset(list(self.people())[:self.claims.stock_rows])  # first adopted
        self.tally = self.take_tally()

    def people(self):
        """Every migrant agent ever created (departed included), in arrival order.

        (``self.migrants`` is only the arrival scratch table here, empty between steps.)
        """
        return self.agents_by_type.get(Person) or AgentSet([], random=self.random)

    def _adopt(self, arrays):
        """Turn the rows the core's arrival code wrote into ``Person`` agents; drop the table."""
        cols = {name: arrays.columns[name][: arrays.n].tolist() for name in arrays.columns}
        for i in range(arrays.n):
            Person(self, **{name: col[i] for name, col in cols.items()})
        self.migrants = MigrantArrays.allocate(0)

    # ---------------------------------------------------------------- the week (order: core)
    def arrive(self):
        super().arrive()  # sim.arrivals appends to the scratch table self.migrants
        self._adopt(self.migrants)

    def acceptance_rate(self, person):
        """The chance ``person``'s claim is accepted: that of the week it was made (the
        week-0 stock made theirs in week -1)."""
        a = self.acceptance_to(self.week)
        week = -1 if person in self.stock else person.arrival_week
        return a.by_week[week - a.first]

    def pending_stock_claims(self, rows):
        stock = list(self.people())[:rows]
        return sum(p.status == ASYLUM and p.housing != DEPARTED and p.status_due >= 0
                   for p in stock)

    def decide_status(self):
        self.status_events = [0] * 6
        self.claims_quota = self.claims.quota(self)
        self.claims_left = self.claims_quota
        self.people().do("decide_status")
        self.claims.settle(self.claims_quota, self.status_events[0] + self.status_events[1])
        self.week_stats["status_events"] = np.array(self.status_events, np.int64)

    def receive(self):
        n = len(self.municipalities)
        emergency = self.emergency_places()
        beds, interim, overflow, capped = self.shelter_capacity()
        self.beds = (beds + emergency.sum(axis=1)).tolist()
        self.interim_places = interim.tolist()
        self.overflow, self.capped = overflow.tolist(), capped.tolist()
        self.in_shelter, self.in_interim, self.sleeping_rough = [0] * n, [0] * n, [0] * n
        self.people().do("lose_housing").do("seek_shelter")
        occupancy = np.array([self.in_shelter, self.in_interim, self.sleeping_rough], np.int64).T
        self.record_reception(occupancy, beds, emergency, capped)

    def house(self):
        search_p, lettings = self.housing_market()
        self.search_p, self.lettings = search_p.tolist(), lettings.tolist()
        self.rents = [m.rent for m in self.municipalities]
        self.income_none_lists = self.income_none.tolist()
        self.housing_moves = _zeros(len(self.municipalities), 2)
        self.people().do("search_housing")
        self.week_stats["housing_moves"] = np.array(self.housing_moves, np.int64)

    def serve(self):
        n = len(self.municipalities)
        given = self.service_pools()
        self.pool, self.used = given.tolist(), np.zeros_like(given).tolist()
        self.eligible_lists = self.eligible.tolist()
        self.awf = [m.policies["access_without_fear"] for m in self.municipalities]
        self.need, self.weeks_of = self.hours_per_week.tolist(), self.duration.tolist()
        self.started, self.wait_sum, self.completed = (_zeros(n, N_SERVICE) for _ in range(3))
        svc = self.scenario.services
        self.match = [svc.lip_referral_match if m.policies["lip"] else svc.referral_match
                      for m in self.municipalities]
        self.match_fr = francophone.referral_match(
            self.scenario, np.array(self.match), self._policy_array("rif")).tolist()
        self.intake_hours = svc.intake_hours_per_referral
        self.misreferred, self.misreferred_fr = np.zeros((n, N_SERVICE)).tolist(), [0.0] * n
        # The eligibility classes of the pools as offered (model-level, as the outputs use
        # them) and the request parameters (lapse, take-up after a change of status, who
        # may ask) are the core's tables; the per-person rules are review_requests.
        eligibility = np.empty((n, N_SERVICE, N_STATUS), np.int8)
        kernels.eligibility_classes(given, self.eligible, np.array(self.awf, np.bool_),
                                    self.hours_per_week, eligibility)
        self.classes = eligibility.tolist()
        r = self.request_params()
        self.req = r._replace(lapse=r.lapse.tolist(), takeup=r.takeup.tolist(),
                              may_ask=r.may_ask.tolist())
        self.requests = _zeros(n, N_SERVICE, 2)
        self.people().do("review_requests").do("continue_services").do("start_services")
        self.settle_service_hours(given, np.array(self.pool), np.array(self.used))
        self.week_stats.update(started=np.array(self.started, np.int64),
                               wait_sum=np.array(self.wait_sum, np.int64),
                               completed=np.array(self.completed, np.int64),
                               requests=np.array(self.requests, np.int64),
                               eligibility=eligibility, misreferred=np.array(self.misreferred),
                               misreferred_fr=np.array(self.misreferred_fr))

    def integrate(self):
        self.features = self.city_features().tolist()
        self.by_age_lists, self.ageing_list = self.by_age.tolist(), self.ageing_p.tolist()
        self.quality_lists = self.quality.tolist()
        self.jobs = _zeros(len(self.municipalities), 2)
        self.people().do("integrate")
        self.week_stats["jobs"] = np.array(self.jobs, np.int64)

    def move(self):
        n = len(self.municipalities)
        move_p, cdf = self.move_choices()
        self.move_p, self.destination_cdf = move_p.tolist(), cdf.tolist()
        self.moves = _zeros(n, n)
        self.people().do("move")
        self.week_stats["moves"] = np.array(self.moves, np.int64)

    def take_tally(self):
        """The end-of-week tally, one ``Person.report`` per agent, as a ``sim.outputs.Tally``."""
        n = len(self.municipalities)
        acc = _TallyLists(self, n)
        self.people().do("report", acc)
        self.dim_sums.settle_all &= not acc.settling  # as the core's tally
        t = Tally(n)
        for name, array in vars(t).items():
            if isinstance(array, np.ndarray):  # the tally's arrays, not its caches
                array[...] = np.array(getattr(acc, name))
        return t
