"""Process 5: requests, lapses and caseworker hours spent on waiting lists (the requests
pass itself: ``sim.kernels.requests``).

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import threads
from sim.codes import (
    ELIG_NO_FUNDER,
    ELIG_NO_HOURS,
    ELIG_WITH_HOURS,
    MUNICIPAL,
    N_FUNDER,
    N_SERVICE,
    SVC_DONE,
    SVC_IN_SERVICE,
    SVC_WAITING,
)
from sim.kernels.base import (
    _in_blocks,
    _uniform,
    row_buffer,
    row_words,
)
from sim.kernels.requests import (
    _MATCH_SLOT,
    RequestsOut,
    _lapse_table,
    _open_bits,
    _requests_block,
)


@njit(cache=True, inline="always")
def _funder_for(hours, m, s, status, eligible, awf, need):
    """First funder (federal, provincial, municipal, charity) with hours the person may use."""
    for f in range(N_FUNDER):
        ok = eligible[m, f, status] or (f == MUNICIPAL and awf[m])
        if ok and hours[m, s, f] >= need:
            return f
    return -1


@njit(cache=True, inline="always")
def _pool_open(hours, m, s, need):
    """Whether any funder of pool (m, s) still has ``need`` hours."""
    for f in range(N_FUNDER):
        if hours[m, s, f] >= need:
            return True
    return False


@njit(cache=True)
def _update_servable(servable, hours, m, s, eligible, awf, need):
    """Which statuses some funder of pool (m, s) with ``need`` hours left may serve."""
    for status in range(servable.shape[2]):
        servable[m, s, status] = _funder_for(hours, m, s, status, eligible, awf, need) >= 0


@njit(cache=True)
def eligibility_classes(hours, eligible, awf, hours_per_week, out):
    """Why someone of each status would wait in each pool: ``ELIG_*`` into int8[m, S, status].

    With hours: a funder whose rules admit the status has a client-week of hours in the pool
    (``hours``, as offered at the start of the week). No hours: only funders without such
    hours here admit the status. No funder: no funder's rules admit it here.
    """
    for m in range(hours.shape[0]):
        for s in range(N_SERVICE):
            for status in range(eligible.shape[2]):
                rules = awf[m]  # access without fear opens municipal hours to every status
                for f in range(N_FUNDER):
                    rules = rules or eligible[m, f, status]
                out[m, s, status] = (ELIG_WITH_HOURS if _funder_for(
                    hours, m, s, status, eligible, awf, hours_per_week[s]) >= 0
                    else (ELIG_NO_HOURS if rules else ELIG_NO_FUNDER))


def step_services(svc_state, svc_week, status, age, housing, muni, week, key, hours, eligible,
                  awf, hours_per_week, duration, req, match, intake_hours, out_used, out_started,
                  out_wait_sum, out_completed, out_requests, out_eligibility, out_misreferred,
                  francophone=None, match_fr=None, out_misreferred_fr=None):
    """Requests lapse and are made again; agencies spend caseworker hours on their waiting
    lists, first come, first served.

    Requests first: a request waiting since an earlier week lapses with ``req.lapse[s]``
    a week, or ``req.lapse_unservable`` where higher if no funder with hours here may serve
    the person. A person without a request whose status differs from the one recorded when
    he or she last went without one (on arrival or at a lapse; ``svc_week`` of a ``none``
    service) records the new status and, if a funder with hours here may now serve it,
    asks with chance ``req.takeup[m, s]`` (housing help only if not in stable housing; only
    services ``req.may_ask`` allows at the person's age).

    Then clients already in service keep their place and are served first; then the
    waiting list is served in row (arrival) order while eligible hours last. Hours come from
    the first funder whose rules admit the person's status (municipal hours admit
    everyone under access without fear); a client no funder can serve waits.

    Each referral from the list fits with chance ``match[m]`` (a Local Immigration
    Partnership raises it), or ``match_fr[m]`` for a francophone (a RIF raises it,
    ``sim.francophone``); one that does not costs ``intake_hours`` of the funder's hours
    (intake, then redirection) and the person waits on for another week.

    Most rows have nothing to do in a given week, so each pass first asks, without
    branching on each service, whether the row has a request to check or a client in
    service (pass 1) or waiting on a pool that still has a client-week of hours (pass 2);
    only then does it look at the four services. Pools of different services are disjoint,
    so this skips work without changing who is served.

    On threads, block by block: the requests (each row's own, and they neither use hours
    nor touch clients in service) with the screens for both passes, in one read of the
    rows (pass 2's against the pools open before pass 1), which list each screened row
    with its city. The passes themselves go in row order, city by city: a city's pools,
    hours and clients are its own, so groups of cities go on threads (``city_groups``)
    and the results do not depend on how cities are grouped. Pass 2 checks its screen
    again, as pools close.

    Args:
        svc_state, svc_week: int8/int16[n, S] updated (svc_week: week joined while
            waiting, weeks left while in service, status code at the last decision while
            none).
        key: stream key; req: RequestParams.
        hours: float64[m, S, F] agent-hours available this week, consumed.
        eligible: bool[m, F, status] (a province's rules differ from the national ones,
            ``sim.provinces``); awf: bool[m]; hours_per_week: float64[S];
            duration: int64[S] weeks. match: float64[m] chance a referral fits;
            intake_hours: hours a referral that does not fit costs.
        out_used: float64[m, S, F] (misreferred hours included); out_started,
            out_completed: int64[m, S]; out_wait_sum: int64[m, S] summed weeks waited by
            those starting.
        out_requests: int64[m, S, 2] added into: requests lapsed, requests made again.
        out_eligibility: int8[m, S, status] written: ``eligibility_classes`` of the pools.
        out_misreferred: float64[m, S] hours spent on referrals that did not fit.
        francophone: int8[n] (none: nobody); match_fr: float64[m] (none: ``match``);
        out_misreferred_fr: float64[m] francophones' part of ``out_misreferred``, added into.
    """
    n = status.shape[0]
    if francophone is None:
        francophone, match_fr = np.zeros(n, np.int8), match
    if out_misreferred_fr is None:
        out_misreferred_fr = np.zeros(hours.shape[0])
    p_lapse, open_ = _pool_tables(hours, eligible, awf, hours_per_week, req, out_eligibility)
    # unsigned rows: no negative-index checks
    busy, busy_code = row_buffer("services busy", n), row_buffer("services busy code", n)
    waiting = row_buffer("services waiting", n)
    waiting_code = row_buffer("services waiting code", n)
    listed_by_city = np.zeros(hours.shape[0], np.int64)
    found = np.zeros((threads.n_blocks(n), 2), np.int64)
    _in_blocks(_requests_block, n, (svc_state, svc_week, row_words(svc_state),
                                    row_words(svc_week), status, age, housing, muni, week, key,
                                    req, p_lapse, out_eligibility, open_, busy, busy_code,
                                    waiting, waiting_code, found),
               RequestsOut(out_requests, listed_by_city))
    lists = ServiceLists(busy, busy_code, found[:, 0], waiting, waiting_code, found[:, 1],
                         threads.BLOCK)
    group_of, n_groups = np.zeros(hours.shape[0], np.int64), 1
    if found.shape[0] > 1 and threads.threads() > 1:  # several blocks: cities on threads
        group_of = city_groups(listed_by_city, threads.threads())
        n_groups = int(group_of.max()) + 1
    threads.each_part(n_groups, lambda g: _serve_cities(
        g, group_of, lists, open_, svc_state, svc_week, status, muni, week, key, hours,
        eligible, awf, hours_per_week, duration, match, intake_hours, out_used, out_started,
        out_wait_sum, out_completed, out_misreferred, francophone, match_fr,
        out_misreferred_fr))


class ServiceLists(NamedTuple):
    """The rows the requests pass listed: block ``b`` listed ``found[b]`` rows from
    ``rows[b * block]`` (clients in service: busy; screened waiting: waiting), each with
    a code ``16 * city + services`` (bit ``s`` set: in service, or waiting, in service
    ``s``), so that a pass reads a row only if it is in its cities and one of its pools
    is still open."""

    busy: np.ndarray  # uint32 rows
    busy_code: np.ndarray  # uint32
    found_busy: np.ndarray  # int64[blocks]
    waiting: np.ndarray
    waiting_code: np.ndarray
    found_waiting: np.ndarray
    block: int


def city_groups(work: np.ndarray, n_groups: int) -> np.ndarray:
    """Group of each city (int64[m]): cities with the most work first, each to the group
    with the least so far, into at most ``n_groups`` groups (no empty group)."""
    n_groups = max(1, min(n_groups, int(np.count_nonzero(work)) or 1))
    load = np.zeros(n_groups, np.int64)
    group_of = np.zeros(work.shape[0], np.int64)
    for m in np.argsort(-work, kind="stable"):
        g = int(np.argmin(load))
        group_of[m] = g
        load[g] += work[m]
    return group_of


@njit(cache=True, nogil=True)
def _serve_cities(g, group_of, lists, open_, svc_state, svc_week, status, muni, week, key,
                  hours, eligible, awf, hours_per_week, duration, match, intake_hours,
                  out_used, out_started, out_wait_sum, out_completed, out_misreferred,
                  francophone, match_fr, out_misreferred_fr):
    """Both passes for the cities of group ``g`` (``group_of[m] == g``), which touch only
    those cities' pools, tallies and clients."""
    _continuing(g, group_of, lists, open_, svc_state, svc_week, status, muni, hours, eligible,
                awf, hours_per_week, out_used, out_completed)
    _serve_waiting(g, group_of, lists, open_, svc_state, svc_week, status, muni, week, key,
                   hours, eligible, awf, hours_per_week, duration, match, intake_hours,
                   out_used, out_started, out_wait_sum, out_completed, out_misreferred,
                   francophone, match_fr, out_misreferred_fr)


@njit(cache=True)
def _pool_tables(hours, eligible, awf, hours_per_week, req, out_eligibility):
    """The pools' ``eligibility_classes`` (into ``out_eligibility``), lapse chances and open
    pools (``_lapse_table``, ``_open_pools``), in one call from Python."""
    eligibility_classes(hours, eligible, awf, hours_per_week, out_eligibility)
    return _lapse_table(req, out_eligibility), _open_pools(hours, hours_per_week)


@njit(cache=True)
def _open_pools(hours, hours_per_week):
    """open_[m, s]: some funder of pool (m, s) still has a client's weekly hours."""
    open_ = np.zeros((hours.shape[0], N_SERVICE), np.bool_)
    for m in range(hours.shape[0]):
        for s in range(N_SERVICE):
            open_[m, s] = _pool_open(hours, m, s, hours_per_week[s])
    return open_


@njit(cache=True)
def _continuing(g, group_of, lists, open_, svc_state, svc_week, status, muni, hours, eligible,
                awf, hours_per_week, out_used, out_completed):
    """Pass 1 in the cities of group ``g``: clients in service go on while their pool has
    hours, in row order."""
    block = lists.block
    for b in range(lists.found_busy.shape[0]):
        for k in range(b * block, b * block + lists.found_busy[b]):
            code = lists.busy_code[k]
            m = code >> 4
            if group_of[m] != g or (code & _open_bits(open_, m)) == 0:
                continue
            i = lists.busy[k]
            for s in range(N_SERVICE):
                if svc_state[i, s] != SVC_IN_SERVICE or not open_[m, s]:
                    continue
                f = _funder_for(hours, m, s, status[i], eligible, awf, hours_per_week[s])
                if f < 0:
                    continue
                hours[m, s, f] -= hours_per_week[s]
                out_used[m, s, f] += hours_per_week[s]
                if not _pool_open(hours, m, s, hours_per_week[s]):
                    open_[m, s] = False
                svc_week[i, s] -= 1
                if svc_week[i, s] <= 0:
                    svc_state[i, s] = SVC_DONE
                    out_completed[m, s] += 1


@njit(cache=True)
def _serve_waiting(g, group_of, lists, open_, svc_state, svc_week, status, muni, week, key,
                   hours, eligible, awf, hours_per_week, duration, match, intake_hours,
                   out_used, out_started, out_wait_sum, out_completed, out_misreferred,
                   francophone, match_fr, out_misreferred_fr):
    """Pass 2 in the cities of group ``g``: the waiting lists in row order while pools
    have hours."""
    n_muni = hours.shape[0]
    n_open = 0
    # servable[m, s, status]: a funder that admits the status still has a client-week of
    # hours in pool (m, s), so waiting people no funder may serve are passed over at once.
    servable = np.zeros((n_muni, N_SERVICE, eligible.shape[2]), np.bool_)
    for m in range(n_muni):
        if group_of[m] != g:
            continue
        for s in range(N_SERVICE):
            n_open += open_[m, s]
            _update_servable(servable, hours, m, s, eligible, awf, hours_per_week[s])
    block = lists.block
    for b in range(lists.found_waiting.shape[0]):
        for k in range(b * block, b * block + lists.found_waiting[b]):
            if n_open == 0:
                return
            code = lists.waiting_code[k]
            m = code >> 4
            if group_of[m] != g or (code & _open_bits(open_, m)) == 0:
                continue  # not this group's, or every pool it waits on has closed
            i = lists.waiting[k]
            for s in range(N_SERVICE):
                if svc_state[i, s] != SVC_WAITING or not servable[m, s, status[i]]:
                    continue
                f = _funder_for(hours, m, s, status[i], eligible, awf, hours_per_week[s])
                if f < 0:
                    continue
                fits = _uniform(key, i, _MATCH_SLOT + s) < (match_fr[m] if francophone[i]
                                                             else match[m])
                cost = hours_per_week[s] if fits else min(intake_hours, hours[m, s, f])
                hours[m, s, f] -= cost
                out_used[m, s, f] += cost
                if hours[m, s, f] < hours_per_week[s]:  # this funder ran dry
                    _update_servable(servable, hours, m, s, eligible, awf, hours_per_week[s])
                    if not _pool_open(hours, m, s, hours_per_week[s]):
                        open_[m, s] = False
                        n_open -= 1
                if not fits:
                    out_misreferred[m, s] += cost
                    out_misreferred_fr[m] += cost * francophone[i]
                    continue
                out_started[m, s] += 1
                out_wait_sum[m, s] += week - svc_week[i, s]
                if duration[s] <= 1:
                    svc_state[i, s] = SVC_DONE
                    svc_week[i, s] = 0
                    out_completed[m, s] += 1
                else:
                    svc_state[i, s] = SVC_IN_SERVICE
                    svc_week[i, s] = duration[s] - 1


@njit(cache=True)
def agency_hours(staff, offered, flexibility, muni, waiting, shares, hours_per_fte, out):
    """Client hours this week by agency, service and funder, into ``out`` (float[A, S, F],
    people-hours).

    An agency's hours (staff x ``hours_per_fte``) are split evenly across the services it
    offers, except a ``flexibility`` share that follows its city's waiting lists, then
    among its funders by ``shares``. The same operations as the NumPy they replace, in
    the same order, so the same numbers (the sums are of whole counts: exact).

    Args:
        staff, flexibility: float64[A]. offered: float64[A, S], 1 where offered.
        muni: int64[A]. waiting: float64[m, S] people waiting. shares: float64[A, F].
    """
    n_service = offered.shape[1]
    split = np.empty(n_service)
    for a in range(staff.shape[0]):
        total = staff[a] * hours_per_fte
        n_offered = 0.0
        need_sum = 0.0
        for s in range(n_service):
            n_offered += offered[a, s]
            need_sum += waiting[muni[a], s] * offered[a, s]
        if n_offered == 0.0 or total <= 0.0:
            out[a] = 0.0
            continue
        flex = flexibility[a]
        for s in range(n_service):
            split[s] = offered[a, s] / n_offered
            if need_sum > 0.0 and flex > 0.0:
                split[s] = ((1 - flex) * split[s]
                            + flex * (waiting[muni[a], s] * offered[a, s]) / need_sum)
            for f in range(shares.shape[1]):
                out[a, s, f] = total * (split[s] * shares[a, f])
