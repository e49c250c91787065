"""Process 2: asylum decisions, permit expiries, regularization and emigration.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import threads
from sim.codes import (
    ASYLUM,
    DEPARTED,
    ECONOMIC_PR,
    NON_STATUS,
    PROTECTED,
    STUDENT,
    TEMP_WORKER,
)
from sim.kernels.base import (
    NOTE_ROWS,
    _in_blocks,
    _listed,
    _uniform,
    next_block,
    noted_rows,
    row_buffer,
    visits,
)


class StatusParams(NamedTuple):
    """Weekly probabilities and mean durations of status events (acceptance of claims is
    by cohort: ``ClaimAcceptance``)."""

    rejected_departure: float
    permit_to_pr: float
    permit_renewal: float
    permit_departure: float
    permit_weeks_worker: float
    permit_weeks_student: float
    regularize_per_week: float
    emigrate_per_week: float
    regularized_permit_weeks: float  # mean length of the permit regularization gives


def step_status(status, housing, status_due, arrival_week, week, key, p, claims_quota,
                acceptance, out_events):
    """Asylum decisions, permit expiries, regularization and emigration.

    Regularization gives a non-status person a work permit (temporary_worker) of mean
    length ``regularized_permit_weeks``; at its end the permit rules apply (permanent
    residence, renewal, departure or non-status again), not permanent residence at once.

    Emigration first (rare: by ``visits``); then every row's own events, block by block on
    threads, which list the asylum claims to decide; then those claims in row order, since
    a board's quota takes them first come, first served.

    Args:
        status, housing: int8[n], updated in place.
        status_due: int16[n], week of the next status event (-1 none), updated.
        week: current week; key: stream key; p: StatusParams.
        claims_quota: claims the board decides this week (agents), first come first served
            in row (= claim) order among pending claims whatever their due week; -1: each
            claim is decided in its own due week (fixed delays).
        arrival_week: int16[n]; acceptance: ClaimAcceptance, the chance a claim is
            accepted by the week it was made (its cohort, ``claim_week``).
        out_events: int64[6] tallies: accepted, rejected, permit to PR, to non-status,
            departures, regularized.
    """
    n = status.shape[0]
    _emigration(housing, key, p, out_events)
    claims = row_buffer("status claims", n)
    found = np.zeros(threads.n_blocks(n), np.int64)
    _in_blocks(_status_block, n, (status, housing, status_due, week, key, p, claims_quota,
                                  claims, found), out_events)
    _decide_claims(_listed(claims, found, threads.BLOCK), status, housing, status_due,
                   arrival_week, key, p, claims_quota, acceptance, out_events)


@njit(cache=True)
def _emigration(housing, key, p, out_events):
    """Emigration: rows picked at the weekly chance leave (before any status event)."""
    for i in visits(key, p.emigrate_per_week, housing.shape[0]):
        if housing[i] != DEPARTED:
            housing[i] = DEPARTED
            out_events[4] += 1


@njit(cache=True, nogil=True)
def _status_block(work, status, housing, status_due, week, key, p, claims_quota, claims,
                  found, out_events):
    """Regularization and permit events of the blocks of rows this call takes
    (``next_block``); lists block ``b``'s asylum claims to decide in ``claims[lo:]``,
    ``found[b]`` of them."""
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            return
        found[b] = _status_rows(lo, hi, status, housing, status_due, week, key, p,
                                claims_quota, claims, out_events)


@njit(cache=True)
def _status_rows(lo, hi, status, housing, status_due, week, key, p, claims_quota, claims,
                 out_events):
    """``_status_block`` of rows lo:hi; returns how many claims it listed.

    Most rows have no event this week: a first loop notes, without a branch, the present
    rows that may have one (non-status people, who may be regularized every week, and rows
    with an event due; with a claims quota, every claimant waiting for a decision); then
    the noted rows, in row order (``noted_rows``)."""
    u = np.uint32
    wk, quota = np.int32(week), u(claims_quota >= 0)
    listed = 0
    noted, rows = np.empty(NOTE_ROWS, np.uint8), np.empty(NOTE_ROWS, np.uint32)
    for c0 in range(lo, hi, NOTE_ROWS):
        c1 = min(hi, c0 + NOTE_ROWS)
        for i in range(np.uint64(c0), np.uint64(c1)):  # unsigned: no negative-index checks
            s, due = u(status[i]), np.int32(status_due[i])
            noted[i - np.uint64(c0)] = np.uint8(u(housing[i] != DEPARTED) & (
                u(s == u(NON_STATUS))
                | (u(due >= np.int32(0)) & (u(due <= wk) | (u(s == u(ASYLUM)) & quota)))))
        for k in range(noted_rows(noted, c1 - c0, c0, rows)):
            i = np.uint64(rows[k])
            s = status[i]
            if s == NON_STATUS:
                if _uniform(key, i, 1) < p.regularize_per_week:
                    status[i] = TEMP_WORKER
                    length = -p.regularized_permit_weeks * np.log(1.0 - _uniform(key, i, 3))
                    status_due[i] = min(week + 1 + int(length), 32000)
                    out_events[5] += 1
                continue
            if s == ASYLUM:
                claims[lo + listed] = i
                listed += 1
                continue
            draw = _uniform(key, i, 2)
            if s == TEMP_WORKER or s == STUDENT:
                if draw < p.permit_to_pr:
                    status[i] = ECONOMIC_PR
                    status_due[i] = -1
                    out_events[2] += 1
                elif draw < p.permit_to_pr + p.permit_renewal:
                    mean = p.permit_weeks_worker if s == TEMP_WORKER else p.permit_weeks_student
                    length = -mean * np.log(1.0 - _uniform(key, i, 3))
                    status_due[i] = min(week + 1 + int(length), 32000)
                elif draw < p.permit_to_pr + p.permit_renewal + p.permit_departure:
                    housing[i] = DEPARTED
                    status_due[i] = -1
                    out_events[4] += 1
                else:
                    status[i] = NON_STATUS
                    status_due[i] = -1
                    out_events[3] += 1
    return listed


class ClaimAcceptance(NamedTuple):
    """Acceptance by the week a claim was made: ``by_week[w - first]`` for week ``w``.

    The first ``stock_rows`` rows (the claimants in shelter at week 0) made their claims
    before the run: they count as claims of week -1, whatever their arrival week.
    """

    by_week: np.ndarray  # float64, weeks first .. first + len - 1
    first: int
    stock_rows: int


@njit(cache=True, inline="always")
def claim_week(i, arrival_week, acceptance):
    """The week row ``i``'s claim was made: its arrival week, week -1 for the week-0 stock."""
    return -1 if i < acceptance.stock_rows else arrival_week[i]


@njit(cache=True)
def _decide_claims(claims, status, housing, status_due, arrival_week, key, p, claims_quota,
                   acceptance, out_events):
    """Decide the listed claims in row order, at most ``claims_quota`` (-1: all), each
    accepted at the rate of the week it was made."""
    for k in range(claims.shape[0]):
        if claims_quota >= 0 and k >= claims_quota:
            return
        i = claims[k]
        status_due[i] = -1
        rate = acceptance.by_week[claim_week(i, arrival_week, acceptance) - acceptance.first]
        if _uniform(key, i, 2) < rate:
            status[i] = PROTECTED
            out_events[0] += 1
        else:
            out_events[1] += 1
            if _uniform(key, i, 3) < p.rejected_departure:
                housing[i] = DEPARTED
                out_events[4] += 1
            else:
                status[i] = NON_STATUS
                out_events[3] += 1
