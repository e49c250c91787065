"""Process 9: the end-of-week count of every migrant that the outputs are built from.

Part of the numba core: see ``sim.kernels``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim import threads
from sim.codes import (
    CHILD,
    CORE,
    DEPARTED,
    N_AGE,
    N_SERVICE,
    NO_JOB,
    PRECARIOUS,
    SENIOR,
    STABLE,
    SVC_IN_SERVICE,
    SVC_WAITING,
    YOUTH,
)
from sim.kernels.base import (
    _in_blocks,
    next_block,
    prefetch,
    row_buffer,
)
from sim.kernels.dims import (
    CHUNK_SHIFT,
    KEY_GONE,
    Settle,
    SettleOut,
    settle_rows,
    situation_key,
)


class TallyOut(NamedTuple):
    """The arrays the end-of-week tally adds into (m = municipality).

    counts: int64[m, status, housing] present (and departed) people.
    services: int64[m, S, 3]: waiting, sum of current waits (weeks), in service.
    status_count: int64[status] present people.
    misc: int64[m, 14]: employed (of all present), arrived here (origin), still here of
        those, ever reached stable housing, summed weeks to reach it (these four: arrivals
        of the run only, not the earlier newcomers), present aged 15-64, employed of them,
        present aged 25-54, employed of them, present aged 25-54 and here at most
        ``recent`` weeks, employed of them, children (0-14), arrived here (origin) at least
        a year ago (departed included), those of them who reached stable housing within a
        year of arriving. Columns 1, 3, 4, 12 and 13 are not counted here: they are kept
        as people arrive and move into stable housing (``sim.arrival_ledger``).
    homeless: int64[m, 2] actively homeless: all, refugees (see ``tally``).
    waiting_by: int64[m, S, 3] waiting by ``eligibility`` class (``ELIG_*``).
    sums, status_sums, hist, ring: the changes to the kept sums of the integration
        dimensions (``sim.kernels.dims.SettleOut``) from the rows settled this week.
    """

    counts: np.ndarray
    services: np.ndarray
    status_count: np.ndarray
    misc: np.ndarray
    homeless: np.ndarray
    waiting_by: np.ndarray
    sums: np.ndarray
    status_sums: np.ndarray
    hist: np.ndarray
    ring: np.ndarray


class TallyParams(NamedTuple):
    """What the tally needs besides the migrant columns."""

    week: int
    window: int  # weeks of shelter use that still count as actively homeless
    refugee: np.ndarray  # bool[status]: in the refugee group of the homeless count
    recent: int  # weeks since arrival within which a person is a recent immigrant (LFS: 5 y)
    eligibility: np.ndarray  # int8[m, S, status]: step_services' eligibility classes
    settling: bool  # settle the integration dimensions (not in the count at set-up)
    settle: Settle


# The integer arrays of ``TallyOut`` (all but the float sums of the settled rows): each thread
# adds into its own (``_in_blocks``).
_Counts = NamedTuple("_Counts", [(name, np.ndarray) for name in TallyOut._fields
                                 if name not in ("sums", "status_sums")])


def tally(status, housing, muni, origin, employment, svc_state, svc_week, arrival_week,
          shelter_week, age, dim_columns, p, out):
    """One pass over all migrants for the weekly outputs of MODEL.md section 6, settling the
    integration dimensions of the rows whose situation changed or whose slice is due
    (``sim.kernels.dims``).

    Block by block on threads (``sim.threads``): each block sums its rows in row order;
    the float sums of the settled rows are kept by block and added in block order, so they
    come out the same for any thread count.

    Args:
        dim_columns: DimColumns. p: TallyParams. out: TallyOut, added into.
    """
    n = status.shape[0]
    count = threads.n_blocks(n)
    if count == 1:  # one block: its float sums go straight into ``out``
        sums, status_sums = out.sums[None], out.status_sums[None]
    else:
        sums = np.zeros((count, *out.sums.shape))
        status_sums = np.zeros((count, *out.status_sums.shape))
    _in_blocks(_tally_block, n, (
        status, housing, muni, origin, employment, svc_state, svc_week, arrival_week,
        shelter_week, age, dim_columns, row_buffer("settle", n), p, sums, status_sums),
        _Counts(*(getattr(out, name) for name in _Counts._fields)))
    if count > 1:
        _add_in_order(out.sums, sums)
        _add_in_order(out.status_sums, status_sums)


@njit(cache=True)
def _add_in_order(total, by_block):
    """Add ``by_block[0]``, ``by_block[1]``, ... into ``total``, in that order."""
    for b in range(by_block.shape[0]):
        total += by_block[b]


@njit(cache=True, nogil=True)
def _tally_block(work, status, housing, muni, origin, employment, svc_state, svc_week,
                 arrival_week, shelter_week, age, dc, rows, p, sums, status_sums, out):
    """``tally`` of the blocks of rows this call takes (``next_block``), added into ``out``
    (``_Counts``) and, for the float sums of block ``b``, ``sums[b]`` and
    ``status_sums[b]``; the rows to settle are listed in ``rows[lo:]`` and settled chunk by
    chunk."""
    # People by (city, status, combination of the four service states): one count a row
    # instead of twelve; the waiting (also by eligibility class) and in-service counts per
    # service are read off it at the end. In the same way the employment, age and
    # still-here counts are one count a row in a small table (by age, job, recency and
    # whether an arrival of the run is still in the city of arrival), read off at the end.
    n_muni = out.counts.shape[0]
    combos = np.zeros((n_muni, out.counts.shape[1], 256), np.int64)
    # 8 age + 4 employed + 2 recent (core age) + still where they arrived (in the run)
    people = np.zeros((n_muni, 8 * N_AGE), np.int64)
    homeless = np.zeros((n_muni, out.counts.shape[1]), np.int64)
    while True:
        b, lo, hi = next_block(work)
        if b < 0:
            break
        _tally_rows(lo, hi, status, housing, muni, origin, employment, svc_state, svc_week,
                    arrival_week, shelter_week, age, dc, rows, p,
                    SettleOut(sums[b], status_sums[b], out.hist, out.ring), out, combos,
                    people, homeless)
    _read_off(people, homeless, p, out)
    for m in range(combos.shape[0]):
        for s in range(combos.shape[1]):
            if out.counts[m, s].sum() == out.counts[m, s, DEPARTED]:
                continue  # nobody of this status here in this call's blocks
            for code in range(256):
                c = combos[m, s, code]
                if c == 0:
                    continue
                out.status_count[s] += c
                for sv in range(N_SERVICE):
                    st = (code >> (2 * sv)) & 3
                    out.services[m, sv, 0] += c * (st == SVC_WAITING)
                    out.services[m, sv, 2] += c * (st == SVC_IN_SERVICE)
                    out.waiting_by[m, sv, p.eligibility[m, sv, s]] += c * (st == SVC_WAITING)


@njit(cache=True)
def _tally_rows(lo, hi, status, housing, muni, origin, employment, svc_state, svc_week,
                arrival_week, shelter_week, age, dc, rows, p, settle_out, out, combos, people,
                homeless):
    """Rows lo:hi of ``_tally_block``, counted into ``out`` and its tables; the settled
    rows' changes go to ``settle_out``."""
    # The rows to settle are settled chunk by chunk, while the chunk's columns are in cache.
    c1 = lo
    while c1 < hi:
        c0, c1 = c1, min(hi, ((c1 >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT)
        due = p.settling and p.settle.due[c0 >> CHUNK_SHIFT]
        found = 0
        for i in range(np.uint64(c0), np.uint64(c1)):  # unsigned: no negative-index checks
            # Unsigned codes: numba then indexes without a check for negative indices.
            m = np.uint32(muni[i])
            s = np.uint32(status[i])
            h = np.uint32(housing[i])
            o = np.uint32(origin[i])
            out.counts[m, s, h] += 1
            if h == DEPARTED:
                if p.settling and dc.key[i] != KEY_GONE:  # departed this week: out of the sums
                    rows[c0 + found] = i
                    found += 1
                    prefetch(dc.dims, i)
                    prefetch(dc.target, i)
                continue
            aw = arrival_week[i]
            a = np.uint32(age[i])
            e = np.uint32(employment[i])
            recent = (a == CORE) & (p.week - aw <= p.recent)
            home = (m == o) & (aw >= 0)  # still in the city of arrival, an arrival of the run
            people[m, 8 * a + 4 * (e != NO_JOB) + 2 * recent + home] += 1
            st0, st1 = np.uint32(svc_state[i, 0]), np.uint32(svc_state[i, 1])
            st2, st3 = np.uint32(svc_state[i, 2]), np.uint32(svc_state[i, 3])
            code = st0 + 4 * st1 + 16 * st2 + 64 * st3
            combos[m, s, code] += 1
            if due | (p.settling & (situation_key(m, s, h, e, code) != dc.key[i])):
                rows[c0 + found] = i
                found += 1
                if not due:  # a change: its dimensions are read at the chunk's end
                    prefetch(dc.dims, i)
                    prefetch(dc.target, i)
                    prefetch(dc.since, i)
                    prefetch(dc.skill, i)
            if (st0 == SVC_WAITING) | (st1 == SVC_WAITING) | (st2 == SVC_WAITING) | (
                    st3 == SVC_WAITING):  # rare: a branch that is nearly always predicted
                out.services[m, 0, 1] += (st0 == SVC_WAITING) * (p.week - svc_week[i, 0])
                out.services[m, 1, 1] += (st1 == SVC_WAITING) * (p.week - svc_week[i, 1])
                out.services[m, 2, 1] += (st2 == SVC_WAITING) * (p.week - svc_week[i, 2])
                out.services[m, 3, 1] += (st3 == SVC_WAITING) * (p.week - svc_week[i, 3])
            # The City of Toronto's "actively homeless": used shelter in the last `window`
            # weeks and not moved to housing (any rental, stable or precarious, counts).
            sh = shelter_week[i]
            homeless[m, s] += ((h != STABLE) & (h != PRECARIOUS) & (sh >= 0)
                               & (p.week - sh < p.window))
        if found:
            settle_rows(rows[c0:c0 + found], status, housing, muni, employment, svc_state, dc,
                        p.settle, settle_out)


@njit(cache=True)
def _read_off(people, homeless, p, out):
    """``out.misc`` and ``out.homeless`` from a call's small tables (integer sums: the
    order of addition does not matter)."""
    for m in range(people.shape[0]):
        for a in range(N_AGE):
            working = (a >= YOUTH) & (a < SENIOR)
            for e in range(2):
                for r in range(2):
                    for home in range(2):
                        c = people[m, 8 * a + 4 * e + 2 * r + home]
                        out.misc[m, 0] += c * e
                        out.misc[m, 2] += c * home
                        out.misc[m, 5] += c * working
                        out.misc[m, 6] += c * working * e
                        out.misc[m, 7] += c * (a == CORE)
                        out.misc[m, 8] += c * (a == CORE) * e
                        out.misc[m, 9] += c * r
                        out.misc[m, 10] += c * r * e
                        out.misc[m, 11] += c * (a == CHILD)
        for s in range(homeless.shape[1]):
            out.homeless[m, 0] += homeless[m, s]
            out.homeless[m, 1] += homeless[m, s] * p.refugee[s]
