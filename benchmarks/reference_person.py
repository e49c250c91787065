"""The plain-Mesa reference's migrant: one ``mesa.Agent`` per person, one method per weekly
verb, restated from ``docs/ODD.md`` 7.2-7.7 and the end-of-week tally (7.9). The model around it
is ``reference_mesa.ReferenceModel``; see that module for what is shared with the core.
"""

from __future__ import annotations  # noqa: I001 (one compact block of codes below)

import math

import mesa

from sim.codes import (
    ASYLUM, CHILD, CORE, DEPARTED, ECONOMIC_PR, ELIG_WITH_HOURS, EMPLOYMENT_SVC, FAMILY_PR,
    FRIENDS, HOUSING_HELP, INTERIM, LANGUAGE, MATCHED_JOB, MUNICIPAL, N_DIM, N_FUNDER, N_SERVICE,
    NO_JOB, NON_STATUS, ORIENTATION, PRECARIOUS, PROTECTED, RESETTLED, SENIOR, SHELTER, STABLE,
    STUDENT, SURVIVAL_JOB, SVC_DONE, SVC_IN_SERVICE, SVC_NONE, SVC_WAITING, TEMP_WORKER,
    UNSHELTERED, WEEKS_PER_YEAR,
)

PERMANENT = (ECONOMIC_PR, FAMILY_PR, RESETTLED, PROTECTED)
SAFETY_BY_HOUSING = (0.2, 0.5, 0.6, 0.7, 0.8, 1.0, 0.0)  # index = housing code


class Person(mesa.Agent):
    """One migrant (``run.scale`` people). Attribute names are the columns of ``sim.state``."""

    def __init__(self, model, *, status, household, age, skill, language, arrival_week, origin,
                 muni, housing, stable_week, shelter_week, employment, status_due, svc_state,
                 svc_week, dims, francophone, **core_only):
        """``core_only``: the core's bookkeeping of held targets (``dim_target`` and the like),
        which a person keeps as ``target``, ``situation`` and ``due`` instead."""
        super().__init__(model)
        self.status, self.household, self.skill, self.age = status, household, skill, age
        self.language, self.arrival_week, self.origin = language, arrival_week, origin
        self.muni, self.housing, self.employment = muni, housing, employment
        self.stable_week, self.shelter_week, self.status_due = stable_week, shelter_week, status_due
        self.svc_state, self.svc_week, self.dims = svc_state, svc_week, dims  # lists of 4, 4, 5
        self.francophone = francophone  # 0/1: first official language French, outside Québec
        self.target, self.situation, self.due = None, None, 0  # the dimensions' held targets

    # ---------------------------------------------------------------- 2. status
    def decide_status(self):
        if self.housing == DEPARTED:
            return
        model, p, draw = self.model, self.model.status_params, self.model.random.random
        events = model.status_events
        if draw() < p.emigrate_per_week:
            self.housing = DEPARTED
            events[4] += 1
            return
        s = self.status
        if s == NON_STATUS:
            if draw() < p.regularize_per_week:  # a work permit, then the permit rules
                length = -p.regularized_permit_weeks * math.log(1.0 - draw())
                self.status = TEMP_WORKER
                self.status_due = min(model.week + 1 + int(length), 32000)
                events[5] += 1
            return
        if self.status_due < 0:
            return
        if s == ASYLUM and model.claims_quota >= 0:  # a funded board: the queue, in claim order
            if model.claims_left == 0:
                return
            model.claims_left -= 1
        elif self.status_due > model.week:
            return
        u = draw()
        if s == ASYLUM:
            self.status_due = -1
            if u < model.acceptance_rate(self):
                self.status = PROTECTED
                events[0] += 1
            else:
                events[1] += 1
                if draw() < p.rejected_departure:
                    self.housing = DEPARTED
                    events[4] += 1
                else:
                    self.status = NON_STATUS
                    events[3] += 1
        elif s == TEMP_WORKER or s == STUDENT:
            if u < p.permit_to_pr:
                self.status, self.status_due = ECONOMIC_PR, -1
                events[2] += 1
            elif u < p.permit_to_pr + p.permit_renewal:
                mean = p.permit_weeks_worker if s == TEMP_WORKER else p.permit_weeks_student
                length = -mean * math.log(1.0 - draw())
                self.status_due = min(model.week + 1 + int(length), 32000)
            elif u < p.permit_to_pr + p.permit_renewal + p.permit_departure:
                self.housing, self.status_due = DEPARTED, -1
                events[4] += 1
            else:
                self.status, self.status_due = NON_STATUS, -1
                events[3] += 1

    # ---------------------------------------------------------------- 3. reception
    def lose_housing(self):
        """Pass 1: stays with friends and precarious tenancies may end; count who is in shelter."""
        model, p, draw = self.model, self.model.loss_params, self.model.random.random
        h = self.housing
        if (h == FRIENDS and draw() < p.friends_breakdown
                or h == PRECARIOUS and draw() < p.precarious_loss):
            self.housing = FRIENDS if draw() < p.lost_to_friends else UNSHELTERED
        if self.housing == SHELTER:
            model.in_shelter[self.muni] += 1
        elif self.housing == INTERIM:
            model.in_interim[self.muni] += 1

    def seek_shelter(self):
        """Pass 2, in arrival order: a bed, else an interim place, else paid overflow."""
        model, m = self.model, self.muni
        if self.housing == UNSHELTERED:
            if model.in_shelter[m] < model.beds[m]:
                self.housing = SHELTER
                model.in_shelter[m] += 1
            elif model.in_interim[m] < model.interim_places[m]:
                self.housing = INTERIM
                model.in_interim[m] += 1
            elif not model.capped[m] and model.in_shelter[m] < model.beds[m] + model.overflow[m]:
                self.housing = SHELTER
                model.in_shelter[m] += 1
            else:
                model.sleeping_rough[m] += 1
        if self.housing == SHELTER or self.housing == INTERIM:
            self.shelter_week = model.week

    # ---------------------------------------------------------------- 4. housing
    def income(self, p):
        """Monthly household income: own earnings plus up to two more earners."""
        if self.employment == NO_JOB:
            own = self.model.income_none_lists[self.muni][self.status]  # the province's rules
        elif self.employment == SURVIVAL_JOB:
            own = p.income_survival
        else:
            own = p.income_survival + (p.income_matched - p.income_survival) * self.skill
        return own * (1.0 + p.second_earner * min(self.household - 1, 2))

    def search_housing(self):
        h = self.housing
        if h == DEPARTED:
            return
        model, p, draw = self.model, self.model.housing_params, self.model.random.random
        m = self.muni
        if h == STABLE:
            if draw() < p.stable_loss:
                self.housing = PRECARIOUS
            return
        if model.lettings[m] <= 0:
            return
        prob = model.search_p[m]
        if self.svc_state[HOUSING_HELP] in (SVC_IN_SERVICE, SVC_DONE):
            prob *= 1.0 + p.housing_help_boost
        if draw() >= prob:
            return
        rent = model.rents[m] * (0.6 + 0.16 * self.household)  # a 2-bedroom fits 2.5 people
        if rent <= p.affordable_rent_share * self.income(p):
            self.housing = STABLE
            model.lettings[m] -= 1
            model.housing_moves[m][0] += 1
            if self.stable_week < 0:
                self.stable_week = model.week
        elif h != PRECARIOUS:
            self.housing = PRECARIOUS
            model.lettings[m] -= 1
        else:
            return
        if h == SHELTER or h == INTERIM:
            model.housing_moves[m][1] += 1

    # ---------------------------------------------------------------- 5. services
    def review_requests(self):
        """Before the queue: a waiting request may lapse; a ``none`` service whose recorded
        status is not the person's records it and may be asked for again (ODD 7.5)."""
        if self.housing == DEPARTED:
            return
        model, m, st, draw = self.model, self.muni, self.status, self.model.random.random
        classes, req, state, weeks = model.classes[m], model.req, self.svc_state, self.svc_week
        for s in range(N_SERVICE):
            with_hours = classes[s][st] == ELIG_WITH_HOURS
            if state[s] == SVC_WAITING:
                p = req.lapse[s] if with_hours else max(req.lapse[s], req.lapse_unservable)
                if weeks[s] < model.week and draw() < p:
                    state[s], weeks[s] = SVC_NONE, st
                    model.requests[m][s][0] += 1
            elif state[s] == SVC_NONE and weeks[s] != st:
                weeks[s] = st
                if (with_hours and req.may_ask[self.age][s]
                        and (s != HOUSING_HELP or self.housing != STABLE)
                        and draw() < req.takeup[m][s]):
                    state[s], weeks[s] = SVC_WAITING, model.week
                    model.requests[m][s][1] += 1

    def _take_hours(self, s, referral=False):
        """One week of service ``s`` from the first funder that may pay for this person.

        A ``referral`` from the waiting list fits with the city's match chance (a
        francophone's, with or without a RIF, if francophone); one that does not costs the
        intake hours and the person keeps waiting (returns False)."""
        model, m = self.model, self.muni
        need = model.need[s]
        pool = model.pool[m][s]
        for f in range(N_FUNDER):
            if ((model.eligible_lists[m][f][self.status] or f == MUNICIPAL and model.awf[m])
                    and pool[f] >= need):
                match = model.match_fr[m] if self.francophone else model.match[m]
                if referral and model.random.random() >= match:
                    cost = min(model.intake_hours, pool[f])
                    pool[f] -= cost
                    model.used[m][s][f] += cost
                    model.misreferred[m][s] += cost
                    if self.francophone:
                        model.misreferred_fr[m] += cost
                    return False
                pool[f] -= need
                model.used[m][s][f] += need
                return True
        return False

    def continue_services(self):
        """Pass 1: clients already in service keep their place."""
        if self.housing == DEPARTED:
            return
        model = self.model
        for s in range(N_SERVICE):
            if self.svc_state[s] == SVC_IN_SERVICE and self._take_hours(s):
                self.svc_week[s] -= 1
                if self.svc_week[s] <= 0:
                    self.svc_state[s] = SVC_DONE
                    model.completed[self.muni][s] += 1

    def start_services(self):
        """Pass 2: the waiting lists, first come, first served."""
        if self.housing == DEPARTED:
            return
        model, m = self.model, self.muni
        for s in range(N_SERVICE):
            if self.svc_state[s] == SVC_WAITING and self._take_hours(s, referral=True):
                model.started[m][s] += 1
                model.wait_sum[m][s] += model.week - self.svc_week[s]
                if model.weeks_of[s] <= 1:
                    self.svc_state[s], self.svc_week[s] = SVC_DONE, 0
                    model.completed[m][s] += 1
                else:
                    self.svc_state[s], self.svc_week[s] = SVC_IN_SERVICE, model.weeks_of[s] - 1

    # ---------------------------------------------------------------- 6. integration
    def integrate(self):
        h = self.housing
        if h == DEPARTED:
            return
        model, p, draw = self.model, self.model.integration_params, self.model.random.random
        m, s, svc = self.muni, self.status, self.svc_state
        labour = model.features[m][0]
        quality = model.quality_lists[m]
        served = [st == SVC_IN_SERVICE or st == SVC_DONE for st in svc]

        def q(service):  # how much agency quality scales a service's effect
            return 1.0 - p.quality_weight + p.quality_weight * quality[service]

        if draw() < model.ageing_list[self.age]:  # time passes: the next age band
            self.age += 1
        job_factor = model.by_age_lists[0][self.age]
        language_factor = model.by_age_lists[1][self.age]
        in_class = svc[LANGUAGE] == SVC_IN_SERVICE
        gain = p.language_gain * language_factor + (
            p.language_gain_in_class * q(LANGUAGE) if in_class else 0.0)
        self.language = min(1.0, self.language + gain * (1.0 - self.language))
        boost = 1.0 + (p.service_boost * q(EMPLOYMENT_SVC) if served[EMPLOYMENT_SVC] else 0.0)
        permit = p.no_permit_factor if s == NON_STATUS else 1.0
        if self.employment == NO_JOB:
            if draw() < (p.job_find * job_factor * labour * (0.3 + 0.7 * self.language) * boost
                         * permit):
                self.employment = SURVIVAL_JOB
                model.jobs[m][0] += 1
        elif draw() < p.job_loss:
            self.employment = NO_JOB
        elif self.employment == SURVIVAL_JOB:
            if draw() < p.match * labour * self.skill * self.language * boost * permit:
                self.employment = MATCHED_JOB
                model.jobs[m][1] += 1

    def settle_dims(self):
        """The five dimensions at the end of the week (ODD 7.6): each closes ``adjust`` of the
        gap to a target set by the situation at the end of a week and held until the
        situation changes, a timeline changes anything, or ``run.dims_refresh_weeks`` weeks
        pass (time here as of the middle of the weeks it is held for)."""
        model, p, h = self.model, self.model.integration_params, self.housing
        m, s, svc = self.muni, self.status, self.svc_state
        situation = (m, s, h, self.employment, tuple(svc))
        week, weeks = model.week, model.scenario.run.dims_refresh_weeks
        if situation != self.situation or week >= self.due or model.dim_sums.settle_all:
            self.situation = situation
            self.due = week + 1 + (self.unique_id - week - 1) % weeks
            self.target = self.targets((week + self.due - 1) / 2.0)
        self.dims = [d + p.adjust * (t - d) for d, t in zip(self.dims, self.target, strict=True)]

    def targets(self, asof):
        """The dimensions' targets in the present situation, with the years here of week
        ``asof``."""
        model, p, h = self.model, self.model.integration_params, self.housing
        m, s, svc = self.muni, self.status, self.svc_state
        labour, network, sentiment, awf, welcoming, shelter_quality, police = model.features[m]
        quality = model.quality_lists[m]
        served = [st == SVC_IN_SERVICE or st == SVC_DONE for st in svc]
        q_orientation = 1.0 - p.quality_weight + p.quality_weight * quality[ORIENTATION]
        years = min((asof - self.arrival_week) / 52.0, 3.0)
        e = self.employment
        housed = 1.0 if h == STABLE else (0.8 if h == PRECARIOUS else 0.6)
        job_level = 0.15 if e == NO_JOB else (0.5 if e == SURVIVAL_JOB else 0.8 + 0.2 * self.skill)
        oriented = 0.2 * q_orientation if served[ORIENTATION] else 0.0
        requested = sum(st != SVC_NONE for st in svc)
        permanent = s in PERMANENT
        if s == NON_STATUS:  # access without fear: the municipal share, fear of city services
            base = p.access_non_status_awf if awf else p.access_non_status
            security = (p.security_non_status if not awf else p.security_non_status_awf_police
                        if police else p.security_non_status_awf)
        else:
            base = p.access_with_status
            security = p.security_permanent if permanent else p.security_temporary
        access = base + (0.5 * sum(served) / requested if requested > 0 else 0.25)
        return (
            job_level * housed,
            min(1.0, 0.2 + 0.1 * years + oriented + network),
            min(1.0, access),
            min(1.0, 0.1 + (0.3 if permanent else 0.0) + 0.1 * years + 0.2 * welcoming),
            SAFETY_BY_HOUSING[h] * (shelter_quality if h == SHELTER else 1.0)
            * sentiment ** 0.5 * security,
        )

    # ---------------------------------------------------------------- 7. moves
    def move(self):
        h = self.housing
        if h == DEPARTED:
            return
        model, draw, o = self.model, self.model.random.random, self.muni
        cdf = model.destination_cdf[o]
        n_muni = len(cdf)
        if n_muni < 2 or cdf[-1] <= 0.0:
            return
        prob = model.move_p[o]
        if h != STABLE or self.employment == NO_JOB:
            prob *= model.scenario.moves.unsettled_factor
        if draw() >= prob:
            return
        u = draw()
        d = 0
        while d < n_muni - 1 and cdf[d] <= u:
            d += 1
        if d != o:
            self.muni, self.housing, self.employment = d, FRIENDS, NO_JOB
            model.moves[o][d] += 1

    # ---------------------------------------------------------------- 9. tally
    def report(self, t):
        """Add this person to the end-of-week tally ``t`` (nested lists)."""
        m, s, h, o = self.muni, self.status, self.housing, self.origin
        t.counts[m][s][h] += 1
        ours = self.arrival_week >= 0  # arrived during the run, not an earlier newcomer
        if ours:
            t.misc[o][1] += 1
            if self.stable_week >= 0:
                t.misc[o][3] += 1
                t.misc[o][4] += self.stable_week - self.arrival_week
            if self.model.week - self.arrival_week >= WEEKS_PER_YEAR:  # arrived a year ago or more
                t.misc[o][12] += 1
                t.misc[o][13] += 0 <= self.stable_week <= self.arrival_week + WEEKS_PER_YEAR
        if h == DEPARTED:
            return
        if m == o and ours:
            t.misc[o][2] += 1
        employed = self.employment != NO_JOB
        t.misc[m][0] += employed
        if self.age == CHILD:
            t.misc[m][11] += 1
        elif self.age != SENIOR:  # aged 15-64
            t.misc[m][5] += 1
            t.misc[m][6] += employed
            if self.age == CORE:
                recent = t.week - self.arrival_week <= t.recent
                t.misc[m][7] += 1
                t.misc[m][8] += employed
                t.misc[m][9] += recent
                t.misc[m][10] += recent and employed
        for sv, st in enumerate(self.svc_state):
            if st == SVC_WAITING:
                t.services[m][sv][0] += 1
                t.services[m][sv][1] += t.week - self.svc_week[sv]
                t.waiting_by[m][sv][t.eligibility[m][sv][s]] += 1
            elif st == SVC_IN_SERVICE:
                t.services[m][sv][2] += 1
        if h != STABLE and self.shelter_week >= 0 and t.week - self.shelter_week < t.window:
            t.homeless[m][0] += 1
            t.homeless[m][1] += t.refugee[s]
        t.status_count[s] += 1
        if not t.settling:  # the count at set-up, before any week: dimensions not counted
            return
        self.settle_dims()
        index = sum(w * v for w, v in zip(t.weights, self.dims, strict=True))
        for d, v in enumerate(self.dims):
            t.dims[m][d] += v
        t.dims[m][N_DIM] += index
        t.status_index[s] += index
        t.hist[m][min(9, max(0, int(index * 10.0)))] += 1
