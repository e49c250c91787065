"""Process 5 of the week, services: agencies' caseworker hours offered, spent on waiting
lists by eligibility and funder, and booked back to the agencies (a part of
``ReceptionModel``)."""

from __future__ import annotations

import numpy as np

from sim import francophone, kernels, provinces
from sim.agency import AgencyTable, offer_hours
from sim.arrivals import MAY_ASK
from sim.codes import N_FUNDER, N_SERVICE, STATUSES
from sim.kernels import PROC_SERVICES


class Serving:
    """The model's services step; mixed into ``ReceptionModel``, whose state it reads and
    writes (agencies, migrants, week_stats, hours_carry, quality)."""

    def serve(self) -> None:
        """5. Agencies spend caseworker hours on waiting lists, by eligibility and funder."""
        a = self.migrants
        n_muni = len(self.municipalities)
        given = self.service_pools()
        pool = given.copy()
        used = np.zeros_like(pool)
        started = np.zeros((n_muni, N_SERVICE), np.int64)
        wait_sum = np.zeros((n_muni, N_SERVICE), np.int64)
        completed = np.zeros((n_muni, N_SERVICE), np.int64)
        requests = np.zeros((n_muni, N_SERVICE, 2), np.int64)
        eligibility = np.empty((n_muni, N_SERVICE, len(STATUSES)), np.int8)
        misreferred = np.zeros((n_muni, N_SERVICE))
        misreferred_fr = np.zeros(n_muni)
        svc = self.scenario.services
        match = np.where(self._policy_array("lip"), svc.lip_referral_match, svc.referral_match)
        match_fr = francophone.referral_match(self.scenario, match, self._policy_array("rif"))
        kernels.step_services(a.svc_state, a.svc_week, a.status, a.age, a.housing, a.muni,
                              self.week, self._key(PROC_SERVICES), pool, self.eligible,
                              self._policy_array("access_without_fear"), self.hours_per_week,
                              self.duration, self.request_params(), match,
                              svc.intake_hours_per_referral, used, started, wait_sum, completed,
                              requests, eligibility, misreferred, a.francophone, match_fr,
                              misreferred_fr)
        self.settle_service_hours(given, pool, used)
        self.week_stats.update(started=started, wait_sum=wait_sum, completed=completed,
                               requests=requests, eligibility=eligibility,
                               misreferred=misreferred, misreferred_fr=misreferred_fr)

    def request_params(self) -> kernels.RequestParams:
        """Lapse chances, and the take-up after a change of status (with outreach, as on
        arrival) per city and service."""
        return self.fixed("request_params", self._request_params)

    def _request_params(self) -> kernels.RequestParams:
        svc = self.scenario.services
        services = svc.by_code()
        outreach = 1.0 + svc.outreach_takeup_boost * self._policy_array("outreach")
        takeup = np.array([s.takeup for s in services])[None, :] * outreach[:, None]
        return kernels.RequestParams(
            np.array([s.lapse_per_week for s in services]), svc.lapse_unservable_per_week,
            np.minimum(1.0, takeup) * svc.takeup_on_status_change, MAY_ASK)

    def service_pools(self) -> np.ndarray:
        """Agent-hours per (city, service, funder) this week; sets the hours-weighted quality.

        Fractions of one client's weekly hours carried over from last week are added, so
        that at a large scale a small pool still serves someone every few weeks.
        """
        svc = self.scenario.services
        n_muni = len(self.municipalities)
        offered = np.zeros((n_muni, N_SERVICE, N_FUNDER))
        quality_num = np.zeros((n_muni, N_SERVICE))
        waiting = self.tally.services[:, :, 0].astype(float)
        table = self.fixed("agencies", lambda: AgencyTable.of(self.agencies))
        hours = offer_hours(self.agencies, table, self.week, svc, waiting)
        np.add.at(offered, table.muni, hours)  # in agency order, as a loop would add them
        np.add.at(quality_num, table.muni, table.quality[:, None] * hours.sum(axis=2))
        offered_hours = offered.sum(axis=2)
        self.quality = np.divide(quality_num, offered_hours, out=np.full_like(quality_num, 0.5),
                                 where=offered_hours > 0)
        return provinces.hand_over(offered, self.delivered) / self.scale + self.hours_carry

    def settle_service_hours(self, given: np.ndarray, left: np.ndarray,
                             used: np.ndarray) -> None:
        """Carry fractions of a client's hours to next week; book hours used to agencies."""
        need = self.hours_per_week[None, :, None]
        self.hours_carry = np.where(left < need, left, 0.0)
        share_used = np.divide(used, given, out=np.zeros_like(used), where=given > 0)
        munis = self.fixed("agencies", lambda: AgencyTable.of(self.agencies)).muni
        mine = provinces.hand_over(  # one call for every agency
            np.array([ag.hours_available for ag in self.agencies]).reshape(-1, N_SERVICE,
                                                                           N_FUNDER),
            self.delivered[munis])
        for ag, hours, share in zip(self.agencies, mine, share_used[munis], strict=True):
            ag.hours_used = hours * share
        self.week_stats.update(hours_offered=given, hours_used=used)
