"""Process 5, first part: requests lapse and are made again, and the rows the passes of
``sim.kernels.services`` will serve are listed.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import (
    DEPARTED,
    ELIG_WITH_HOURS,
    HOUSING_HELP,
    N_SERVICE,
    STABLE,
    SVC_IN_SERVICE,
    SVC_NONE,
    SVC_WAITING,
)
from sim.kernels.base import NOTE_ROWS, _uniform, byte_is, next_block, noted_rows, states_are


class RequestParams(NamedTuple):
    """How requests lapse and are made again (weekly chances; ``takeup`` per city)."""

    lapse: np.ndarray  # float64[S] weekly lapse chance of a waiting request
    lapse_unservable: float  # the chance where no funder with hours here may serve
    takeup: np.ndarray  # float64[m, S] chance of asking after a change of status
    may_ask: np.ndarray  # bool[age, S] services a person of each age band may ask for


# The lowest set bit of a 4-bit mask (the services' requests left to check).
_LOWEST_BIT = np.array([0, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0], np.int64)

# Draw slots of step_services for service s: a lapse s, a new request N_SERVICE + s, whether
# a referral fits 2 N_SERVICE + s.
_LAPSE_SLOT, _REQUEST_SLOT, _MATCH_SLOT = 0, N_SERVICE, 2 * N_SERVICE


class RequestsOut(NamedTuple):
    """What the requests pass adds up: requests lapsed and made (int64[m, S, 2]), rows
    listed for either pass by city (int64[m]: the work of each city's passes)."""

    requests: np.ndarray
    listed: np.ndarray


@njit(cache=True, inline="always")
def _open_bits(open_, m):
    """Bit ``s`` set where pool (m, s) is open."""
    return open_[m, 0] | (open_[m, 1] << 1) | (open_[m, 2] << 2) | (open_[m, 3] << 3)


@njit(cache=True)
def _lapse_table(req, out_eligibility):
    """p_lapse[m, s, status]: a waiting request's weekly lapse chance."""
    n_muni = out_eligibility.shape[0]
    p_lapse = np.empty(out_eligibility.shape)
    for m in range(n_muni):
        for s in range(N_SERVICE):
            for st in range(out_eligibility.shape[2]):
                p_lapse[m, s, st] = (req.lapse[s] if out_eligibility[m, s, st] == ELIG_WITH_HOURS
                                     else max(req.lapse[s], req.lapse_unservable))
    return p_lapse


@njit(cache=True, nogil=True)
def _requests_block(work, svc_state, svc_week, svc, svw, status, age, housing, muni, week,
                    key, req, p_lapse, out_eligibility, open_, busy, busy_code, waiting,
                    waiting_code, found, out):
    """``_requests_rows`` of the blocks of rows this call takes (``next_block``), block ``b``
    listing ``found[b]`` rows (busy, waiting)."""
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            return
        found[b, 0], found[b, 1] = _requests_rows(
            lo, hi, svc_state, svc_week, svc, svw, status, age, housing, muni, week, key, req,
            p_lapse, out_eligibility, open_, busy, busy_code, waiting, waiting_code, out)


@njit(cache=True)
def _requests_rows(lo, hi, svc_state, svc_week, svc, svw, status, age, housing, muni, week,
                   key, req, p_lapse, out_eligibility, open_, busy, busy_code, waiting,
                   waiting_code, out):
    """Rows lo:hi: requests lapse and are made again; the rows with a client in service are
    listed in ``busy[lo:]``, those then waiting on a pool ``open_`` (before pass 1 spends
    hours: a superset, pass 2 checks again) in ``waiting[lo:]``, with their codes
    (``ServiceLists``); ``out``: RequestsOut. Returns how many of each."""
    listed = 0
    listed_waiting = 0
    # A screen first, without a branch a row (most rows have nothing to do: no request to
    # check, no client in service), listing a piece's rows that have; then those rows.
    noted, screened = np.empty(NOTE_ROWS, np.uint8), np.empty(NOTE_ROWS, np.uint32)
    for p0 in range(lo, hi, NOTE_ROWS):
        found = _screen_requests(p0, min(hi, p0 + NOTE_ROWS), svc, svw, status, housing, noted,
                                 screened)
        for k in range(found):
            i = np.uint64(screened[k])
            st = status[i]
            # The screen's note, read back: worked out here, the test of any request to
            # check became up to eight branches (LLVM splits an "or" of comparisons), one a
            # service, on states random from row to row (busy weeks: 10.2 -> 7.9 ns a row).
            note = np.uint32(noted[i - np.uint64(p0)])
            todo, serving = note & np.uint32(15), note >> np.uint32(4)
            m = muni[i]
            while todo:  # the services with a request to check, lowest first
                s = _LOWEST_BIT[todo]
                todo &= todo - np.uint32(1)
                state = svc_state[i, s]
                if state == SVC_WAITING:
                    if (svc_week[i, s] < week
                            and _uniform(key, i, _LAPSE_SLOT + s) < p_lapse[m, s, st]):
                        svc_state[i, s] = SVC_NONE
                        svc_week[i, s] = st
                        out.requests[m, s, 0] += 1
                elif state == SVC_NONE and svc_week[i, s] != st:
                    svc_week[i, s] = st
                    if (out_eligibility[m, s, st] == ELIG_WITH_HOURS and req.may_ask[age[i], s]
                            and (s != HOUSING_HELP or housing[i] != STABLE)
                            and _uniform(key, i, _REQUEST_SLOT + s) < req.takeup[m, s]):
                        svc_state[i, s] = SVC_WAITING
                        svc_week[i, s] = week
                        out.requests[m, s, 1] += 1
            in_service = serving != 0
            busy[lo + listed] = i
            busy_code[lo + listed] = 16 * np.uint32(m) + serving
            listed += in_service
            waits = states_are(svc[i], SVC_WAITING)  # after the lapses and requests
            waiting[lo + listed_waiting] = i
            waiting_code[lo + listed_waiting] = 16 * np.uint32(m) + waits
            on_open = (waits & _open_bits(open_, m)) != 0
            listed_waiting += on_open
            out.listed[m] += in_service + on_open
    return listed, listed_waiting



@njit(cache=True, inline="always")
def _asks(states, weeks, status, k):
    """1 if service ``k`` of a row (``states``, ``weeks``: its ``row_words``) has a request
    to check: one waiting, or one it went without under another status than ``status``;
    else 0 (uint32). A week below 0 is no status: its 16 bits never equal one."""
    u = np.uint32
    week = u((weeks >> np.uint64(16 * k)) & np.uint64(0xFFFF))
    return u(byte_is(states, k, SVC_WAITING)) | (
        u(byte_is(states, k, SVC_NONE)) & u(week != u(status)))


@njit(cache=True)
def _screen_requests(p0, p1, svc, svw, status, housing, noted, screened):
    """List in ``screened`` the rows p0:p1 (at most ``NOTE_ROWS``) present with a request to
    check or a client in service; return how many. ``svc``, ``svw``: the ``row_words`` of
    ``svc_state`` and ``svc_week``. A note a row in ``noted`` (uint8[NOTE_ROWS]; bit ``s``:
    service ``s`` has a request to check, ``_asks``; bit ``4 + s``: it has the row as a
    client), then the noted rows (``noted_rows``)."""
    u = np.uint32
    for i in range(np.uint64(p0), np.uint64(p1)):  # unsigned: no negative-index checks
        st, states, weeks = u(status[i]), svc[i], svw[i]
        asks = (_asks(states, weeks, st, 0) | (_asks(states, weeks, st, 1) << u(1))
                | (_asks(states, weeks, st, 2) << u(2)) | (_asks(states, weeks, st, 3) << u(3)))
        serves = states_are(states, SVC_IN_SERVICE)
        noted[i - np.uint64(p0)] = np.uint8((asks | (serves << u(4)))
                                            * u(housing[i] != DEPARTED))
    return noted_rows(noted, p1 - p0, p0, screened)
