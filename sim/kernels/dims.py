"""The five integration dimensions, kept lazily ("settled"): a person's targets are held
between changes in their situation, so their dimensions follow a closed form, and the weekly
sums and histogram are kept up to date from the people whose situation changed.

Each dimension closes ``adjust`` of the gap to its target every week (Calgary's key result
areas, seed 004). With the target ``T`` held from week ``w0``, the value at the end of week
``t`` is ``T + (d0 - T) r^(t - w0 + 1)`` (``r = 1 - adjust``, ``d0`` the value at the end of
week ``w0 - 1``). A row is *settled* again (its targets recomputed from its situation and the
city's conditions) when its city, status, housing, job or any service state changes, when it
arrives, and otherwise at the latest every ``slices`` weeks: rows come in chunks of 1,024,
chunk ``c`` belongs to slice ``c % slices``, and slice ``j`` is settled in the weeks
``w % slices == j`` (run.dims_refresh_weeks; 1 settles everyone every week).

The weekly sums of a slice are ``sum T + r^(t - E + 1) sum (d0 - T) r^(E - w0)``, ``E`` the
week the slice was last settled whole (its sums are then rebuilt from nothing, so rounding
does not pile up); between, the rows that change are taken out and put back. The index
``w . d`` follows the same closed form, so it moves monotonically toward its target: the weeks
it crosses a decile are known when a row is settled and kept in a ring of histogram changes.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import (
    DEPARTED,
    MATCHED_JOB,
    N_DIM,
    N_HOUSING,
    N_STATUS,
    SHELTER,
    SVC_NONE,
    WEEKS_PER_YEAR,
)
from sim.kernels.base import _in_blocks, _served, next_block
from sim.kernels.integration import (
    _PERMANENT,
    MF_NETWORK,
    MF_SHELTER_QUALITY,
    MF_WELCOMING,
    integration_tables,
)

KEY_FRESH = np.uint32(0)  # never settled: ``dims`` holds the current values
KEY_GONE = np.uint32(0xFFFFFFFF)  # departed and taken out of every sum
CHUNK_SHIFT = 10  # rows come in chunks of 1,024 rows; chunk c is in slice c % slices
N_SUM = N_DIM + 1  # the five dimensions, then the index
PER_CITY = N_STATUS * N_HOUSING * 3 * 256  # situation keys per city

# Safety by housing state (index = housing code): sleeping rough is least safe.
_SAFETY_BY_HOUSING = np.array([0.2, 0.5, 0.6, 0.7, 0.8, 1.0, 0.0])
# Economic well-being: how much housing (stable 1, precarious 0.8, else 0.6) and the job
# (none, survival, matched; a matched job adds 0.2 x skill) count.
_HOUSED_BY_HOUSING = np.array([0.6, 0.6, 0.6, 0.6, 0.8, 1.0, 0.6])
_JOB_LEVEL = np.array([0.15, 0.5, 0.8])


class TargetTables(NamedTuple):
    """This week's inputs of the targets that are the same for many people
    (``target_tables``)."""

    q_or: np.ndarray  # float64[m]: quality factor of orientation services
    root_sentiment: np.ndarray  # float64[m]
    access: np.ndarray  # float64[requested, received]: services term of access
    base_access: np.ndarray  # float64[m, status]
    security: np.ndarray  # float64[m, status]
    features: np.ndarray  # float64[m, N_MF]


class Settle(NamedTuple):
    """What settling rows needs this week (``sim.dim_sums.DimensionSums.settle``)."""

    week: int  # settled rows hold their new targets from this week on
    rebuild: np.ndarray  # bool[slices]: slices settled whole this week
    epoch: np.ndarray  # int64[slices]: week each slice was last settled whole (now included)
    until: np.ndarray  # int64[slices]: the next week after this one each is settled whole
    held_to: np.ndarray  # int64[slices]: the last week of targets set before this week
    chunk_slice: np.ndarray  # int64[chunks]: slice of each chunk of rows
    due: np.ndarray  # bool[chunks]: chunks settled whole this week
    powers: np.ndarray  # float64[slices + 2]: r^k
    inverse: np.ndarray  # float64[slices + 1]: r^-k
    old_powers: np.ndarray  # r^k for the rows as they stand (adjust may have changed)
    weights: np.ndarray  # float64[N_DIM]: index weights
    old_weights: np.ndarray  # the weights the rows as they stand were counted with
    tables: TargetTables


class DimColumns(NamedTuple):
    """The migrant columns of the lazy dimensions (and what their targets read besides
    the situation codes)."""

    dims: np.ndarray  # float32[n, N_DIM]: values at the end of week ``since - 1``
    target: np.ndarray  # float32[n, N_DIM]
    since: np.ndarray  # int16[n]: week the targets hold from
    key: np.ndarray  # uint32[n]: situation the targets were set in (``situation_key``)
    skill: np.ndarray
    arrival_week: np.ndarray


class SettleOut(NamedTuple):
    """Changes a pass makes to the kept sums (``sim.dim_sums``), m = municipality.

    sums: float64[slices, m, 2, N_SUM]: sums of targets, and of (start - target) r^(E - w0).
    status_sums: float64[slices, status, 2]: the same of the index by status (the one output
        by status).
    hist: int64[m, 10]: change of this week's index histogram.
    ring: int64[slices + 1, m, 10]: changes of later weeks' histograms, week u in u % (slices + 1).
    """

    sums: np.ndarray
    status_sums: np.ndarray
    hist: np.ndarray
    ring: np.ndarray


def target_tables(p, features: np.ndarray, quality: np.ndarray) -> TargetTables:
    """The week's ``TargetTables`` from the integration parameters, the city features
    (``MF_*`` columns) and agency quality (float64[m, S])."""
    return TargetTables(*integration_tables(p, features, quality)[2:], features)


@njit(cache=True, inline="always")
def situation_key(m, s, h, e, services):
    """The situation a row's targets depend on, as one number (+1: 0 is ``KEY_FRESH``).
    ``services`` is the tally's code of the four service states (``st0 + 4 st1 + ...``).
    In uint32 arithmetic (exact: every key is below ``KEY_GONE``), which LLVM vectorizes
    in the tally's pass over all rows (numba would widen mixed integers to 64 bits)."""
    u = np.uint32
    return u((((u(m) * u(N_STATUS) + u(s)) * u(N_HOUSING) + u(h)) * u(3) + u(e)) * u(256)
             + u(services) + u(1))


@njit(cache=True, inline="always")
def services_code(states):
    """The code of a row's four service states (``st0 + 4 st1 + 16 st2 + 64 st3``, each
    state < 4) from their ``row_words`` word (the four bytes as one little-endian uint32)."""
    return ((states & 3) | ((states >> 6) & 12) | ((states >> 12) & 48)
            | ((states >> 18) & 192))


@njit(cache=True, inline="always")
def row_key(i, muni, status, housing, employment, svc):
    """The ``situation_key`` of row ``i`` as it stands (``svc``: ``row_words`` of the
    service states): what the settling keeps and the tally compares with."""
    return situation_key(muni[i], status[i], housing[i], employment[i], services_code(svc[i]))


@njit(cache=True, inline="always")
def situation_of(key):
    """``(m, s, h, e, services)`` of a ``situation_key`` (neither ``KEY_FRESH`` nor
    ``KEY_GONE``)."""
    k = np.uint32(key) - np.uint32(1)
    services = k % np.uint32(256)
    k //= np.uint32(256)
    e = k % np.uint32(3)
    k //= np.uint32(3)
    h = k % np.uint32(N_HOUSING)
    k //= np.uint32(N_HOUSING)
    return k // np.uint32(N_STATUS), k % np.uint32(N_STATUS), h, e, services


@njit(cache=True, inline="always")
def _bin(index):
    return min(9, max(0, int(index * 10.0)))


@njit(cache=True)
def targets(rows, status, housing, muni, employment, svc_state, skill, arrival_week, asof, tb):
    """float64[len(rows), N_DIM]: the targets of ``rows`` in their present situation, with
    their years here (at most 3) as of week ``asof[k]`` (the middle of the weeks they hold
    for: time here grows while the targets are held).

    Economic well-being from job and housing; networks from time here, orientation and
    co-newcomer density; access from services received and the public services open to the
    person's status; civic participation from permanence, time and a welcoming strategy;
    safety and acceptance from housing, public sentiment and status security (access without
    fear changes the last two for non-status people only: sim/params_security.py).
    """
    out = np.empty((rows.shape[0], N_DIM))
    f = tb.features
    for k in range(rows.shape[0]):
        i = rows[k]
        h, m, s = np.uint32(housing[i]), np.uint32(muni[i]), np.uint32(status[i])
        e = np.uint32(employment[i])
        st0, st1 = svc_state[i, 0], svc_state[i, 1]
        st2, st3 = svc_state[i, 2], svc_state[i, 3]
        years = min((asof[k] - arrival_week[i]) / WEEKS_PER_YEAR, 3.0)
        job_level = _JOB_LEVEL[e] + (0.2 * skill[i] if e == MATCHED_JOB else 0.0)
        requested = (st0 != SVC_NONE) + (st1 != SVC_NONE) + (st2 != SVC_NONE) + (st3 != SVC_NONE)
        received = _served(st0) + _served(st1) + _served(st2) + _served(st3)
        shelter = f[m, MF_SHELTER_QUALITY] if h == SHELTER else 1.0
        out[k, 0] = job_level * _HOUSED_BY_HOUSING[h]
        out[k, 1] = min(1.0, 0.2 + 0.1 * years + 0.2 * tb.q_or[m] * _served(st0)
                        + f[m, MF_NETWORK])
        out[k, 2] = min(1.0, tb.base_access[m, s] + tb.access[requested, received])
        out[k, 3] = min(1.0, 0.1 + (0.3 if _PERMANENT[s] else 0.0) + 0.1 * years
                        + 0.2 * f[m, MF_WELCOMING])
        out[k, 4] = _SAFETY_BY_HOUSING[h] * shelter * tb.root_sentiment[m] * tb.security[m, s]
    return out


def weekly_dims(status, housing, muni, employment, svc_state, skill, arrival_week, dims, week,
                adjust, tb):
    """One week of the plain weekly rule, targets recomputed (nothing held), for every row:
    the warm-up of the earlier newcomers (``sim.earlier``). Block by block on threads."""
    _in_blocks(_weekly_dims_block, status.shape[0], (
        status, housing, muni, employment, svc_state, skill, arrival_week, dims, week, adjust,
        tb))


@njit(cache=True, nogil=True)
def _weekly_dims_block(work, status, housing, muni, employment, svc_state, skill, arrival_week,
                       dims, week, adjust, tb):
    """``weekly_dims`` of the blocks of rows this call takes (``next_block``), in pieces that
    stay in cache."""
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            return
        _weekly_dims_rows(lo, hi, status, housing, muni, employment, svc_state, skill,
                          arrival_week, dims, week, adjust, tb)


@njit(cache=True)
def _weekly_dims_rows(lo, hi, status, housing, muni, employment, svc_state, skill, arrival_week,
                      dims, week, adjust, tb):
    """``_weekly_dims_block`` of rows lo:hi."""
    for c0 in range(lo, hi, 1 << CHUNK_SHIFT):
        c1 = min(hi, c0 + (1 << CHUNK_SHIFT))
        new = targets(np.arange(c0, c1), status, housing, muni, employment, svc_state, skill,
                      arrival_week, np.full(c1 - c0, float(week)), tb)
        for k in range(c1 - c0):
            for d in range(N_DIM):
                dims[c0 + k, d] += adjust * (new[k, d] - dims[c0 + k, d])


@njit(cache=True)
def _ring_crossings(ring, m, target, start, since, after, until, powers, sign):
    """Add ``sign`` times the changes of a row's histogram bin in the weeks ``after < u <=
    until`` to ``ring`` (its index ``target + (start - target) r^(u - since + 1)`` moves
    monotonically, so each change is found by bisection)."""
    slots = ring.shape[0]
    b_prev = _bin(target + (start - target) * powers[after - since + 1])
    b_end = _bin(target + (start - target) * powers[until - since + 1])
    lo = after
    while b_prev != b_end:
        hi = until  # bin(lo) is b_prev, bin(hi) is not: find the first week that is not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _bin(target + (start - target) * powers[mid - since + 1]) == b_prev:
                lo = mid
            else:
                hi = mid
        b = _bin(target + (start - target) * powers[hi - since + 1])
        ring[hi % slots, m, b_prev] -= sign
        ring[hi % slots, m, b] += sign
        b_prev, lo = b, hi


@njit(cache=True, nogil=True)
def settle_rows(rows, status, housing, muni, employment, svc_state, svc, c, p, out):
    """Settle ``rows`` (row order) in week ``p.week``: take each out of the sums and histograms
    its old targets put it in, then, unless it departed, put it back with targets for its
    present situation.

    Args:
        svc: ``row_words(svc_state)``. c: DimColumns (updated). p: Settle. out: SettleOut
            (added into).
    """
    week = p.week
    asof = np.empty(rows.shape[0])
    for k in range(rows.shape[0]):  # held for the weeks up to the slice's next settling
        asof[k] = 0.5 * (week + p.until[p.chunk_slice[rows[k] >> CHUNK_SHIFT]] - 1)
    new = targets(rows, status, housing, muni, employment, svc_state, c.skill, c.arrival_week,
                  asof, p.tables)
    start = np.empty(N_DIM)
    for k in range(rows.shape[0]):
        i = rows[k]
        j = p.chunk_slice[i >> CHUNK_SHIFT]
        old = c.key[i]
        m_out, b_out = -1, 0  # the histogram bin it is taken out of (-1: none)
        if old == KEY_FRESH or old == KEY_GONE:  # in no sum (one departed stays departed)
            for d in range(N_DIM):
                start[d] = c.dims[i, d]
        else:
            w0 = np.int64(c.since[i])
            m0 = (old - 1) // PER_CITY
            s0 = (old - 1) // (N_HOUSING * 3 * 256) % N_STATUS
            t_index, s_index = 0.0, 0.0
            for d in range(N_DIM):
                d0, t = np.float64(c.dims[i, d]), np.float64(c.target[i, d])
                start[d] = t + (d0 - t) * p.old_powers[week - w0]
                t_index += p.old_weights[d] * t
                s_index += p.old_weights[d] * d0
            b_now = _bin(t_index + (s_index - t_index) * p.old_powers[week - w0 + 1])
            m_out, b_out = np.int64(m0), b_now
            until = p.held_to[j]
            if _bin(t_index + (s_index - t_index) * p.old_powers[until - w0 + 1]) != b_now:
                _ring_crossings(out.ring, m0, t_index, s_index, w0, week, until, p.old_powers,
                                -1)
            if not p.rebuild[j]:  # a slice settled whole starts its sums from nothing
                back = p.inverse[w0 - p.epoch[j]]
                for d in range(N_DIM):
                    d0, t = np.float64(c.dims[i, d]), np.float64(c.target[i, d])
                    out.sums[j, m0, 0, d] -= t
                    out.sums[j, m0, 1, d] -= (d0 - t) * back
                out.sums[j, m0, 0, N_DIM] -= t_index
                out.sums[j, m0, 1, N_DIM] -= (s_index - t_index) * back
                out.status_sums[j, s0, 0] -= t_index
                out.status_sums[j, s0, 1] -= (s_index - t_index) * back
        h = housing[i]
        if h == DEPARTED:
            c.key[i] = KEY_GONE
            if m_out >= 0:
                out.hist[m_out, b_out] -= 1
            continue
        m, s = np.uint32(muni[i]), np.uint32(status[i])
        c.key[i] = row_key(i, muni, status, housing, employment, svc)
        c.since[i] = week
        back = p.inverse[week - p.epoch[j]]
        t_index, s_index = 0.0, 0.0
        for d in range(N_DIM):
            c.dims[i, d] = start[d]
            c.target[i, d] = new[k, d]
            d0, t = np.float64(c.dims[i, d]), np.float64(c.target[i, d])  # as kept
            t_index += p.weights[d] * t
            s_index += p.weights[d] * d0
            out.sums[j, m, 0, d] += t
            out.sums[j, m, 1, d] += (d0 - t) * back
        out.sums[j, m, 0, N_DIM] += t_index
        out.sums[j, m, 1, N_DIM] += (s_index - t_index) * back
        out.status_sums[j, s, 0] += t_index
        out.status_sums[j, s, 1] += (s_index - t_index) * back
        b_now = _bin(t_index + (s_index - t_index) * p.powers[1])
        # Mostly the bin it was taken out of: then nothing to change (a take-out and a
        # put-back of one count in a row made a chain through memory, ~9 ns a row).
        if m_out != np.int64(m) or b_out != b_now:
            if m_out >= 0:
                out.hist[m_out, b_out] -= 1
            out.hist[m, b_now] += 1
        until = p.until[j]
        if _bin(t_index + (s_index - t_index) * p.powers[until - week + 1]) != b_now:
            _ring_crossings(out.ring, m, t_index, s_index, week, week, until, p.powers, 1)


@njit(cache=True)
def settle_plan(week, slices, settle_all, epoch, chunk_slice):
    """The week's plan (``Settle`` fields): slices settled whole (this week's, or all),
    their epochs, each slice's next whole settling and the last week of targets set before,
    and the chunks due."""
    rebuild = np.empty(slices, np.bool_)
    new_epoch = np.empty(slices, np.int64)
    until = np.empty(slices, np.int64)
    held_to = np.empty(slices, np.int64)
    for j in range(slices):
        due_now = j == week % slices
        rebuild[j] = due_now or settle_all
        new_epoch[j] = week if rebuild[j] else epoch[j]
        until[j] = week + 1 + (j - week - 1) % slices
        held_to[j] = week if due_now else until[j]
    due = np.empty(chunk_slice.shape[0], np.bool_)
    for c in range(chunk_slice.shape[0]):
        due[c] = rebuild[chunk_slice[c]]
    return rebuild, new_epoch, until, held_to, due


@njit(cache=True)
def take_changes(sums, status_sums, hist, ring, rebuild, changes, powers, epoch, week):
    """Add a pass's ``changes`` (SettleOut) into the kept arrays (the slices settled whole
    start from nothing), zero ``changes`` for the next pass and return ``kept_totals`` at
    the end of ``week`` (one call: a small run's week is mostly such fixed costs)."""
    for j in range(rebuild.shape[0]):
        if rebuild[j]:
            sums[j] = 0.0
            status_sums[j] = 0.0
    sums += changes.sums
    status_sums += changes.status_sums
    hist += changes.hist
    ring += changes.ring
    changes.sums[...] = 0.0
    changes.status_sums[...] = 0.0
    changes.hist[...] = 0
    changes.ring[...] = 0
    return kept_totals(sums, status_sums, powers, epoch, week)


@njit(cache=True)
def kept_totals(sums, status_sums, powers, epoch, week):
    """Sums at the end of ``week``: of the five dimensions and the index per city, and of
    the index per status, added slice after slice."""
    by_city = np.zeros((sums.shape[1], sums.shape[3]))
    by_status = np.zeros(status_sums.shape[1])
    for j in range(sums.shape[0]):
        decay = powers[week - epoch[j] + 1]
        for m in range(sums.shape[1]):
            for d in range(sums.shape[3]):
                by_city[m, d] += sums[j, m, 0, d] + decay * sums[j, m, 1, d]
        for s in range(status_sums.shape[1]):
            by_status[s] += status_sums[j, s, 0] + decay * status_sums[j, s, 1]
    return by_city, by_status


@njit(cache=True)
def dims_now(rows, c, week, powers):
    """float64[len(rows), N_DIM]: the dimensions of ``rows`` at the end of ``week`` (a row
    not yet settled: as it stands; a departed one: as of its last settling)."""
    out = np.empty((rows.shape[0], N_DIM))
    for k in range(rows.shape[0]):
        i = rows[k]
        key = c.key[i]
        for d in range(N_DIM):
            d0 = np.float64(c.dims[i, d])
            if key == KEY_FRESH or key == KEY_GONE:
                out[k, d] = d0
            else:
                t = np.float64(c.target[i, d])
                out[k, d] = t + (d0 - t) * powers[week - c.since[i] + 1]
    return out
